import type Docker from 'dockerode'

/** The engine's own shapes, named for what they are; only src/docker imports dockerode. */
export type ContainerSummary = Docker.ContainerInfo
export type ContainerDetails = Docker.ContainerInspectInfo
export type ImageDetails = Docker.ImageInspectInfo
export type NetworkDetails = Docker.NetworkInspectInfo
export type NetworkCreateSpec = Docker.NetworkCreateOptions

export interface VolumeDetails {
  Name: string
  Driver: string
  Mountpoint: string
  Labels: Record<string, string> | null
  Options: Record<string, string> | null
  Scope: string
  CreatedAt?: string
}

export interface VolumeCreateSpec {
  name: string
  driver: string
  driverOptions: Record<string, string>
  labels: Record<string, string>
}

/** A container-create body: `Config` fields, `HostConfig`, at most one network endpoint. */
export interface ContainerCreateSpec {
  name: string
  Image: string
  [field: string]: unknown
}

/** Credentials for a registry, as the engine takes them (`{}` for anonymous access). */
export interface RegistryAuth {
  username?: string
  password?: string
  /** An OAuth refresh token from `docker login` (the Docker config's `identitytoken`). */
  identitytoken?: string
  serveraddress?: string
}

export interface EngineInfo {
  version: string
  apiVersion: string
  os: string
  arch: string
}
