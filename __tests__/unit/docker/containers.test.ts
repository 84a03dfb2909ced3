import { describe, expect, it } from 'vitest'
import { ContainerCalls } from '../../../src/docker/containers.js'
import { EngineError } from '../../../src/shared/errors.js'

/** dockerode's error for a status, as its modem builds it. */
function engineError(statusCode: number, message: string) {
  return Object.assign(new Error(`(HTTP code ${statusCode}) unexpected - ${message}`), {
    statusCode,
    json: { message }
  })
}

/** ContainerCalls over a stand-in for dockerode's container: `remove` and `inspect` as given. */
function callsWith(container: { remove(): Promise<void>; inspect(): Promise<object> }) {
  const calls = new ContainerCalls({ host: 'unix:///nowhere.sock' })
  Object.assign(calls, { docker: { getContainer: () => container } })
  return calls
}

const IN_PROGRESS = 'removal of container c1 is already in progress'

describe('removeContainer', () => {
  it('waits for a removal the engine began already, then succeeds', async () => {
    let inspections = 0
    const calls = callsWith({
      remove: () => Promise.reject(engineError(409, IN_PROGRESS)),
      inspect: () =>
        ++inspections < 3
          ? Promise.resolve({})
          : Promise.reject(engineError(404, 'No such container'))
    })
    await calls.removeContainer('c1', { force: true })
    expect(inspections).toBe(3)
  })

  it('fails on any other conflict, without waiting', async () => {
    let inspections = 0
    const calls = callsWith({
      remove: () => Promise.reject(engineError(409, 'You cannot remove a running container c1')),
      inspect: () => Promise.resolve({ inspections: ++inspections })
    })
    const error = await calls.removeContainer('c1').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(EngineError)
    expect((error as Error).message).toBe(
      'remove container c1 failed: You cannot remove a running container c1'
    )
    expect(inspections).toBe(0)
  })
})
