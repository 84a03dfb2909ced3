import { Readable } from 'node:stream'
import tar from 'tar-stream'
import { afterAll, describe, expect, it } from 'vitest'
import { CARRIER_LABEL } from '../../src/docker/carriers.js'
import { Engine, carrierOwner } from '../../src/docker/engine.js'
import { EngineUnavailableError, NotFoundError, RegistryError } from '../../src/shared/errors.js'
import { BUSYBOX, REGISTRY, docker, inBusybox, removeByPrefix, uniquePrefix } from './support.js'

const engine = new Engine()
const prefix = uniquePrefix('engine')

afterAll(() => removeByPrefix(prefix))

/** A `./`-relative tar with several owners and modes, a symlink, a hardlink and an empty dir. */
function sampleVolumeTar(): Readable {
  const pack = tar.pack()
  const mtime = new Date('2020-02-02T02:02:02Z')
  pack.entry({ name: './', type: 'directory', mode: 0o750, uid: 33, gid: 33, mtime })
  pack.entry({ name: './etc/', type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime })
  pack.entry({ name: './etc/app.conf', mode: 0o640, uid: 0, gid: 1000, mtime }, 'level=debug\n')
  pack.entry({ name: './data/', type: 'directory', mode: 0o700, uid: 1000, gid: 1000, mtime })
  pack.entry({ name: './data/rows.csv', mode: 0o600, uid: 1000, gid: 1000, mtime }, '1,a\n2,b\n')
  pack.entry({ name: './data/empty/', type: 'directory', mode: 0o755, uid: 1000, gid: 1000, mtime })
  pack.entry({ name: './current', type: 'symlink', linkname: 'data/rows.csv', mtime })
  // A hardlink header carries its inode's owner and mode, as the engine's own archives do.
  pack.entry({
    name: './rows-hardlink',
    type: 'link',
    linkname: './data/rows.csv',
    mode: 0o600,
    uid: 1000,
    gid: 1000,
    mtime
  })
  pack.finalize()
  return Readable.from(pack)
}

async function rootTar(): Promise<Buffer> {
  // The same layout the archive module builds: one directory entry named after the mount.
  const pack = tar.pack()
  pack.entry({
    name: 'volume/',
    type: 'directory',
    mode: 0o750,
    uid: 33,
    gid: 33,
    mtime: new Date('2020-02-02T02:02:02Z')
  })
  pack.finalize()
  const chunks: Buffer[] = []
  for await (const chunk of pack) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

async function entriesOf(stream: Readable) {
  const extract = tar.extract()
  const seen: Record<string, string> = {}
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, body, next) => {
      const link = header.linkname ? ` -> ${header.linkname}` : ''
      seen[header.name] =
        `${header.type} ${header.uid}:${header.gid} ${((header.mode ?? 0) & 0o7777).toString(8)}${link}`
      body.resume()
      body.on('end', next)
    })
    extract.on('finish', resolve)
    extract.on('error', reject)
  })
  stream.pipe(extract)
  await done
  return seen
}

describe('volume archives through a never-started container', () => {
  it('writes a tree into a named volume and reads it back identically', async () => {
    const volume = `${prefix}data`
    await docker('volume', 'create', volume)
    await engine.writeVolume(volume, sampleVolumeTar(), await rootTar())

    // What a user would check: owners, modes, link targets, inode sharing, the root itself.
    const listing = await inBusybox(
      ['-v', `${volume}:/v`],
      'cd /v && stat -c "%n %u:%g %a %F" . etc etc/app.conf data data/rows.csv data/empty current && ' +
        'readlink current && [ "$(stat -c %i data/rows.csv)" = "$(stat -c %i rows-hardlink)" ] && echo same-inode && ' +
        'cat data/rows.csv && date -u -r etc +%FT%T'
    )
    expect(listing.split('\n')).toEqual([
      '. 33:33 750 directory',
      'etc 0:0 755 directory',
      'etc/app.conf 0:1000 640 regular file',
      'data 1000:1000 700 directory',
      'data/rows.csv 1000:1000 600 regular file',
      'data/empty 1000:1000 755 directory',
      'current 0:0 777 symbolic link',
      'data/rows.csv',
      'same-inode',
      '1,a',
      '2,b',
      '2020-02-02T02:02:02'
    ])

    const read = await engine.readVolume(volume, entriesOf)
    expect(read['./']).toBe('directory 33:33 750')
    expect(read['./etc/app.conf']).toBe('file 0:1000 640')
    expect(read['./data/empty/']).toBe('directory 1000:1000 755')
    expect(read['./current']).toBe('symlink 0:0 777 -> data/rows.csv')
    // Either name may be the hardlink, depending on directory order; one must link the other.
    const links = Object.entries(read).filter(([, v]) => v.startsWith('link'))
    expect(links).toHaveLength(1)

    // The carrier container is gone once the copy is done (only this process's: others may be
    // copying on the same engine).
    expect(await docker('ps', '-aq', '--filter', `label=${CARRIER_LABEL}=${carrierOwner}`)).toBe('')
  })

  it('names the volume when it does not exist', async () => {
    await expect(engine.readVolume(`${prefix}missing`, entriesOf)).rejects.toThrow(
      new RegExp(`${prefix}missing`)
    )
  })
})

describe('images through the registry', () => {
  it('pushes a local image, removes it, and pulls it back by digest', async () => {
    const repo = `${REGISTRY}/${prefix}images`
    // An image of its own: pushing the shared busybox would give it a registry digest for good.
    const source = await docker('create', BUSYBOX, 'true')
    await docker('commit', '--change', `LABEL dst-test=${prefix}`, source, `${repo}:v1`)
    await docker('rm', source)
    const localId = await docker('image', 'inspect', '--format', '{{.Id}}', `${repo}:v1`)
    const digest = await engine.pushImage(repo, 'v1', {})
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/)

    await docker('rmi', `${repo}:v1`)
    await expect(docker('image', 'inspect', `${repo}@${digest}`)).rejects.toThrow()
    await engine.pullImage(`${repo}@${digest}`, {})
    expect(await docker('image', 'inspect', '--format', '{{.Id}}', `${repo}@${digest}`)).toBe(
      localId
    )
    await docker('rmi', `${repo}@${digest}`)
  })

  it('turns a push failure reported inside the progress stream into an error', async () => {
    // Nothing listens on port 9 of loopback: the engine answers 200 and reports the failure in-band.
    const repo = `127.0.0.1:9/${prefix}unreachable`
    await docker('tag', BUSYBOX, `${repo}:v1`)
    try {
      const push = engine.pushImage(repo, 'v1', {})
      await expect(push).rejects.toBeInstanceOf(RegistryError)
      await expect(push).rejects.toThrow(/127\.0\.0\.1:9/)
    } finally {
      await docker('rmi', `${repo}:v1`)
    }
  })

  it('says which image is missing when asked to push one that does not exist', async () => {
    await expect(engine.pushImage(`${REGISTRY}/${prefix}nothing`, 'v1', {})).rejects.toThrow(
      new RegExp(`${prefix}nothing`)
    )
  })
})

describe('engine errors', () => {
  it('reports the address tried when no engine answers', async () => {
    const absent = new Engine({ host: 'unix:///nonexistent/docker.sock' })
    await expect(absent.info()).rejects.toBeInstanceOf(EngineUnavailableError)
    await expect(absent.info()).rejects.toThrow(/unix:\/\/\/nonexistent\/docker\.sock/)
  })

  it('reports a missing container as NotFoundError naming it', async () => {
    await expect(engine.inspectContainer(`${prefix}ghost`)).rejects.toBeInstanceOf(NotFoundError)
    expect(await engine.findContainer(`${prefix}ghost`)).toBeUndefined()
  })
})
