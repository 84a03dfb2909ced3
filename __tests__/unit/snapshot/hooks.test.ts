import { describe, expect, it } from 'vitest'
import type { Engine } from '../../../src/docker/engine.js'
import type { ContainerDetails } from '../../../src/docker/types.js'
import type { Logger } from '../../../src/log.js'
import { runHook } from '../../../src/snapshot/hooks.js'

/** A running container with a pre-exec hook and these extra labels. */
function container(labels: Record<string, string>): ContainerDetails {
  return {
    Id: 'c1',
    Name: '/db',
    State: { Running: true, Paused: false },
    Config: { Labels: { 'docker-snapshot.pre-exec': 'sync', ...labels } }
  } as unknown as ContainerDetails
}

/** The exec timeout runHook asks the engine for, and what it logged. */
async function timeoutFor(labels: Record<string, string>) {
  const timeouts: number[] = []
  const warnings: string[] = []
  const engine = {
    exec: (_id: string, _cmd: string[], timeoutMs: number) => {
      timeouts.push(timeoutMs)
      return Promise.resolve({ exitCode: 0, output: '' })
    }
  } as unknown as Engine
  const log: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: message => warnings.push(message),
    group: (_title, fn) => fn()
  }
  await runHook(engine, container(labels), 'pre', 60_000, log)
  return { timeout: timeouts[0], warnings }
}

describe('hook timeout label', () => {
  it('takes a valid label', async () => {
    expect(await timeoutFor({ 'docker-snapshot.hook-timeout': '5' })).toEqual({
      timeout: 5000,
      warnings: []
    })
  })

  it.each(['2147484', '1e12', 'soon', '-3'])(
    'ignores %s, not seconds a Node.js timer can wait, with a warning',
    async value => {
      const { timeout, warnings } = await timeoutFor({ 'docker-snapshot.hook-timeout': value })
      expect(timeout).toBe(60_000)
      expect(warnings).toEqual([
        `db: ignoring label docker-snapshot.hook-timeout=${value}: expected seconds between 1 ` +
          'and 2147483; the hook gets 60 s'
      ])
    }
  )
})
