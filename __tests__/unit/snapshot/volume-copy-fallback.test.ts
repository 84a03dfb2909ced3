/**
 * A helper that finds it does not see this host's folder (an engine elsewhere) hands the copy
 * to the archive API under copy-method auto, for the rest of the run; a forced helper fails,
 * and nothing is read through the archive API.
 */
import { tmpdir } from 'node:os'
import { describe, expect, it } from 'vitest'
import { resolveCompression } from '../../../src/archive/index.js'
import { NOT_SHARED_EXIT } from '../../../src/docker/helper-image.js'
import type { HelperMethod } from '../../../src/docker/helper-image.js'
import { InvalidSettingsError } from '../../../src/shared/errors.js'
import { copyVolume } from '../../../src/snapshot/volume-copy.js'
import { FakeEngine } from '../fakes/engine.js'
import { FakeStore } from '../fakes/store.js'
import { recordingLogger } from '../fakes/logger.js'

function scene(exitCode: number) {
  const fake = new FakeEngine()
  fake.addVolume('pgdata', [{ name: 'base/1', content: 'rows' }])
  const helpers: string[] = []
  Object.assign(fake, {
    runHelper: (spec: { name: string; Cmd: string[] }) => {
      helpers.push(spec.Cmd.join(' '))
      return Promise.resolve({ exitCode, output: '' })
    }
  })
  return { fake, helpers }
}

const helper = (forced: boolean): HelperMethod => ({
  method: 'helper',
  image: 'docker-snapshot/copier:test',
  workRoot: tmpdir(),
  forced
})

describe('copyVolume when the helper runs elsewhere', () => {
  it('falls back to the archive API under auto, and says so', async () => {
    const { fake, helpers } = scene(NOT_SHARED_EXIT)
    const writer = await new FakeStore().begin('s1')
    const { log, lines } = recordingLogger()
    const codec = await resolveCompression('zstd')
    const { packed, method } = await copyVolume(
      fake.engine,
      helper(false),
      'pgdata',
      codec,
      { writer, object: 'volumes/pgdata.tar.zst' },
      { log }
    )
    expect(helpers).toHaveLength(1)
    expect(helpers[0]).toMatch(/^\[ -f \/out\/\.docker-snapshot-host \]/)
    expect(method).toMatchObject({ method: 'archive' })
    expect(packed.entries).toBe(1)
    expect(fake.events).toContain('readVolume pgdata')
    expect(lines.join('\n')).toMatch(/archive API from here on .*does not see this host's/)
  })

  it('fails a forced helper without reading through the archive API', async () => {
    const { fake } = scene(NOT_SHARED_EXIT)
    const writer = await new FakeStore().begin('s1')
    const codec = await resolveCompression('zstd')
    await expect(
      copyVolume(
        fake.engine,
        helper(true),
        'pgdata',
        codec,
        { writer, object: 'v' },
        {
          log: recordingLogger().log
        }
      )
    ).rejects.toThrow(InvalidSettingsError)
    expect(fake.events).not.toContain('readVolume pgdata')
  })

  it('fails, naming the volume, when the helper fails otherwise', async () => {
    const { fake } = scene(2)
    const writer = await new FakeStore().begin('s1')
    const codec = await resolveCompression('zstd')
    await expect(
      copyVolume(
        fake.engine,
        helper(false),
        'pgdata',
        codec,
        { writer, object: 'v' },
        {
          log: recordingLogger().log
        }
      )
    ).rejects.toThrow(/Copying volume pgdata failed in the helper container \(exit 2\)/)
    expect(fake.events).not.toContain('readVolume pgdata')
  })
})
