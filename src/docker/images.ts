/** The image calls of the Engine: inspect, tag, remove, push, pull, save and load. */
import { Readable } from 'node:stream'
import { RegistryError } from '../shared/errors.js'
import { ContainerCalls } from './containers.js'
import { followProgress, upload } from './engine-calls.js'
import type { ImageDetails, RegistryAuth } from './types.js'

interface SavesImages {
  getImages(options: { names: string[] }): Promise<NodeJS.ReadableStream>
}

/** Images: the layer of the Engine above containers. */
export class ImageCalls extends ContainerCalls {
  /** The image's details, or undefined when the engine has no image of that reference. */
  findImage(reference: string): Promise<ImageDetails | undefined> {
    return this.unlessMissing(() =>
      this.call(`inspect image ${reference}`, () => this.docker.getImage(reference).inspect())
    )
  }

  async tagImage(reference: string, repo: string, tag: string): Promise<void> {
    await this.call(`tag image ${reference} as ${repo}:${tag}`, () =>
      this.docker.getImage(reference).tag({ repo, tag })
    )
  }

  async removeImage(reference: string): Promise<void> {
    await this.call(`remove image ${reference}`, () => this.docker.getImage(reference).remove())
  }

  /** Pushes `repo:tag`; resolves with the registry's manifest digest. */
  async pushImage(repo: string, tag: string, auth: RegistryAuth): Promise<string> {
    const reference = `${repo}:${tag}`
    const what = `push ${reference}`
    return this.call(what, async () => {
      const stream = await this.docker.getImage(reference).push({ tag, authconfig: auth })
      const progress = await followProgress(stream, what)
      if (!progress.digest) throw new RegistryError(`${what}: the registry reported no digest`)
      return progress.digest
    })
  }

  async pullImage(reference: string, auth: RegistryAuth): Promise<void> {
    const what = `pull ${reference}`
    await this.call(what, async () => {
      const stream = await this.docker.pull(reference, { authconfig: auth })
      await followProgress(stream, what)
    })
  }

  /** A `docker save` tar of the given images. */
  async saveImages(references: string[]): Promise<Readable> {
    const stream = await this.call(`save images ${references.join(', ')}`, () =>
      // Missing from @types/dockerode: GET /images/get with several names, one tar.
      (this.docker as unknown as SavesImages).getImages({ names: references })
    )
    return Readable.from(stream as AsyncIterable<Buffer>)
  }

  /** Loads a `docker save` tar; resolves with what the engine says it loaded. */
  async loadImages(tar: Readable): Promise<string[]> {
    return this.call('load images', async () => {
      const stream = await upload(tar, signal =>
        this.docker.loadImage(tar, { quiet: true, abortSignal: signal })
      )
      const progress = await followProgress(stream, 'load images')
      return progress.loaded
    })
  }
}
