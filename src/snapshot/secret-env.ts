/**
 * Where a snapshot's secret-looking environment values went, for its summary: names only,
 * never values.
 */
import type { Manifest } from '../manifest/manifest.js'
import { redactEnv } from './capture.js'

export interface SecretEnvReport {
  /** Whether the store encrypted the snapshot (and its manifest kept the values). */
  encrypted: boolean
  /** Per container, the variables whose values the manifest left out (unencrypted). */
  withheld: { container: string; variables: string[] }[]
  /** Per container, the secret-looking variables the encrypted manifest kept. */
  kept: { container: string; variables: string[] }[]
  /**
   * Committed images that carry a container's secret-looking values in their config where they
   * are not encrypted: saved into an unencrypted store, or pushed to a registry.
   */
  inImages: { image: string; container: string; location: 'store' | 'registry' }[]
}

export function secretEnvReport(manifest: Manifest, encrypted: boolean): SecretEnvReport {
  const report: SecretEnvReport = { encrypted, withheld: [], kept: [], inImages: [] }
  for (const container of manifest.containers) {
    const secret = encrypted
      ? redactEnv(container.create.Env ?? []).redacted
      : container.redactedEnv
    if (secret.length === 0) continue
    ;(encrypted ? report.kept : report.withheld).push({
      container: container.name,
      variables: secret
    })
    const image = manifest.images.find(i => i.key === container.image)
    if (image?.role !== 'commit') continue
    if (image.location === 'registry' || (image.location === 'store' && !encrypted)) {
      report.inImages.push({
        image: image.key,
        container: container.name,
        location: image.location
      })
    }
  }
  return report
}

/** The report as sentences, one per line; `name` formats a user-chosen name (e.g. escaping). */
export function describeSecretEnv(
  report: SecretEnvReport,
  name: (text: string) => string = text => text
): string[] {
  const listed = (entries: { container: string; variables: string[] }[]) =>
    entries.map(e => `${name(e.container)}: ${e.variables.map(name).join(', ')}`).join('; ')
  const lines: string[] = []
  if (report.withheld.length > 0) {
    lines.push(
      `Secret-looking environment values left out of the manifest (${listed(report.withheld)}): ` +
        'a restore takes them from its env setting, or from a committed image; an encrypted ' +
        'snapshot keeps them.'
    )
  }
  if (report.kept.length > 0) {
    lines.push(
      `Secret-looking environment values kept in the encrypted manifest (${listed(report.kept)}): ` +
        'a restore needs no env setting for them.'
    )
  }
  for (const { image, container, location } of report.inImages) {
    lines.push(
      `Image ${name(image)} holds the environment of ${name(container)}, secret-looking values ` +
        `included, in its image config, ${location === 'store' ? 'saved unencrypted into the store' : 'pushed to the registry'}.`
    )
  }
  return lines
}
