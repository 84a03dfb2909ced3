import { describe, expect, it } from 'vitest'
import { runHook } from '../../../src/snapshot/hooks.js'
import { FakeEngine } from '../fakes/engine.js'
import { recordingLogger } from '../fakes/logger.js'

/** The exec timeout runHook gives a pre-exec hook of a container with these labels, and the log. */
async function hookTimeout(labels: Record<string, string>) {
  const fake = new FakeEngine()
  const details = fake.addContainer({
    name: 'db',
    labels: { 'docker-snapshot.pre-exec': 'sync', ...labels }
  })
  const { log, lines } = recordingLogger()
  await runHook(fake.engine, details, 'pre', 60_000, log)
  return { timeouts: fake.execTimeouts, warnings: lines.filter(line => line.startsWith('warn:')) }
}

describe('hook timeout label', () => {
  it('takes a valid label', async () => {
    expect(await hookTimeout({ 'docker-snapshot.hook-timeout': '5' })).toEqual({
      timeouts: [5000],
      warnings: []
    })
  })

  it.each(['2147484', '1e12', 'soon', '-3'])(
    'ignores %s, not seconds a Node.js timer can wait, with a warning',
    async value => {
      expect(await hookTimeout({ 'docker-snapshot.hook-timeout': value })).toEqual({
        timeouts: [60_000],
        warnings: [
          `warn: db: ignoring label docker-snapshot.hook-timeout=${value}: expected seconds ` +
            'between 1 and 2147483; the hook gets 60 s'
        ]
      })
    }
  )
})
