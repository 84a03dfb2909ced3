import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { EXIT_FAILED, exitCodeFor } from '../../../src/cli/exit-codes.js'
import type { Engine } from '../../../src/docker/engine.js'
import { NotFoundError } from '../../../src/errors.js'
import { silentLogger } from '../../../src/log.js'
import { verifySnapshot } from '../../../src/restore/verify.js'
import { DirectoryStore } from '../../../src/stores/directory.js'

const scratch = await mkdtemp(join(tmpdir(), 'verify-missing-'))
afterAll(() => rm(scratch, { recursive: true, force: true }))

/** Verify must fail before it needs the engine: any call is a test failure. */
const noEngine = new Proxy(
  {},
  {
    get: (_target, call) => () => {
      throw new Error(`unexpected engine call ${String(call)}`)
    }
  }
) as Engine

describe('verify of a snapshot that is not in the store', () => {
  test.each([
    ['an unknown id', 'ghost', /^No snapshot ghost in directory .* The store holds no complete/],
    ['latest in an empty store', 'latest', /^There is no complete snapshot in directory /]
  ])(
    '%s fails the run (exit 1), not as an untrusted snapshot (exit 3)',
    async (_case, id, text) => {
      const store = new DirectoryStore(scratch)
      const attempt = verifySnapshot(
        noEngine,
        store,
        { snapshotId: id, registryAuth: {}, restoreCheck: false, waitTimeoutMs: 1000 },
        silentLogger
      )
      await expect(attempt).rejects.toBeInstanceOf(NotFoundError)
      await expect(attempt).rejects.toThrow(text)
      expect(exitCodeFor(await attempt.catch((error: unknown) => error))).toBe(EXIT_FAILED)
    }
  )
})
