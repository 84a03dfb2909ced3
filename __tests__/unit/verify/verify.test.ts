import { describe, expect, test } from 'vitest'
import { EXIT_FAILED, exitCodeFor } from '../../../src/cli/exit-codes.js'
import { NotFoundError } from '../../../src/shared/errors.js'
import { silentLogger } from '../../../src/shared/log.js'
import { verifySnapshot } from '../../../src/verify/verify.js'
import { FakeEngine } from '../fakes/engine.js'
import { FakeStore } from '../fakes/store.js'

describe('verify of a snapshot that is not in the store', () => {
  test.each([
    ['an unknown id', 'ghost', /^No snapshot ghost in fake store\. The store holds no complete/],
    ['latest in an empty store', 'latest', /^There is no complete snapshot in fake store /]
  ])(
    '%s fails the run (exit 1), not as an untrusted snapshot (exit 3)',
    async (_case, id, text) => {
      const engine = new FakeEngine()
      // A snapshot without a manifest (interrupted) is a snapshot that fails its checks: not this.
      const store = new FakeStore().seed('interrupted', 'volumes/a.tar.zst', 'x')
      const attempt = verifySnapshot(
        engine.engine,
        store,
        { snapshotId: id, registryAuth: {}, restoreCheck: false, waitTimeoutMs: 1000 },
        silentLogger
      )
      await expect(attempt).rejects.toBeInstanceOf(NotFoundError)
      await expect(attempt).rejects.toThrow(text)
      expect(exitCodeFor(await attempt.catch((error: unknown) => error))).toBe(EXIT_FAILED)
      // It fails before it asks the engine anything.
      expect(engine.events).toEqual([])
    }
  )
})
