import { hostname } from 'node:os'
import { describe, expect, it } from 'vitest'
import type { ProcessProbe, RunOwner } from '../../../src/shared/owner.js'
import {
  hostProcesses,
  livenessOf,
  ownerAlive,
  ownerLabel,
  parseOwner,
  processOwner,
  startTimeFromStat,
  thisRun
} from '../../../src/shared/owner.js'

describe('startTimeFromStat', () => {
  it.each([
    {
      case: 'a plain command name',
      stat: '4242 (node) S 1 4242 4242 0 -1 4194560 100 0 0 0 5 1 0 0 20 0 11 0 987654 1000 200',
      start: '987654'
    },
    {
      case: 'a name with spaces and parentheses',
      stat: '7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 31337 0 0',
      start: '31337'
    },
    { case: 'a truncated line', stat: '7 (x) R 1 7', start: undefined },
    {
      case: 'no number where the start time is',
      stat: '7 (x) R' + ' x'.repeat(30),
      start: undefined
    }
  ])('$case', ({ stat, start }) => {
    expect(startTimeFromStat(stat)).toBe(start)
  })

  it('names this process as host:pid, the label of what it makes', () => {
    expect(processOwner).toBe(`${hostname()}:${process.pid}`)
  })

  it('reads this process from /proc as the owner of what it makes', () => {
    expect(thisRun.pid).toBe(process.pid)
    expect(thisRun.processStart).toBe(hostProcesses.startTime(process.pid))
    expect(thisRun.processStart).toMatch(/^\d+$/)
  })
})

describe('ownerLabel and parseOwner', () => {
  it('round-trips host:pid, with the start time apart', () => {
    const owner: RunOwner = { host: 'runner-1:a', pid: 4242, processStart: '99' }
    expect(ownerLabel(owner)).toBe('runner-1:a:4242')
    expect(parseOwner(ownerLabel(owner), '99')).toEqual(owner)
    expect(parseOwner('runner:12')).toEqual({ host: 'runner', pid: 12 })
  })

  it.each(['', 'runner', 'runner:', ':12', 'runner:12x'])('rejects %j', label => {
    expect(parseOwner(label)).toBeUndefined()
  })
})

describe('livenessOf', () => {
  const self: RunOwner = { host: 'here', pid: 100, processStart: '5000' }
  /** pid -> start time of the processes that exist. */
  const probe = (processes: Record<number, string | undefined>): ProcessProbe => ({
    exists: pid => pid in processes,
    startTime: pid => (pid === 'self' ? self.processStart : processes[pid])
  })

  // One row a process table: rows alike but for their values are the table, not copies.
  it.each<{
    case: string
    owner: RunOwner
    processes: Record<number, string | undefined>
    is: string
  }>([
    { case: 'this process', owner: self, processes: { 100: '5000' }, is: 'self' },
    {
      case: 'another live process',
      owner: { host: 'here', pid: 200, processStart: '6000' },
      processes: { 100: '5000', 200: '6000' },
      is: 'alive'
    },
    {
      case: 'a pid that is gone',
      owner: { host: 'here', pid: 200, processStart: '6000' },
      processes: { 100: '5000' },
      is: 'dead'
    },
    {
      case: 'a pid reused by a process started later',
      owner: { host: 'here', pid: 200, processStart: '6000' },
      processes: { 100: '5000', 200: '7000' },
      is: 'dead'
    },
    {
      case: 'our own pid, once a killed process had it',
      owner: { host: 'here', pid: 100, processStart: '4000' },
      processes: { 100: '5000' },
      is: 'dead'
    },
    {
      case: 'a live pid where start times cannot be read',
      owner: { host: 'here', pid: 200 },
      processes: { 100: '5000', 200: undefined },
      is: 'alive'
    },
    {
      case: 'a process of another host, whatever runs here under its pid',
      owner: { host: 'elsewhere', pid: 200, processStart: '6000' },
      processes: {},
      is: 'unknown'
    }
  ])('$case: $is', ({ owner, processes, is }) => {
    expect(livenessOf(owner, self, probe(processes))).toBe(is)
  })

  it('sees a real ended process as dead and this one as itself', async () => {
    const { spawn } = await import('node:child_process')
    const child = spawn(process.execPath, ['-e', ''])
    const pid = child.pid!
    const start = hostProcesses.startTime(pid)
    await new Promise(resolve => child.on('exit', resolve))
    // Reaped once 'exit' fired and the event loop turned.
    await new Promise(resolve => setTimeout(resolve, 50))
    expect(livenessOf({ host: thisRun.host, pid, processStart: start })).toBe('dead')
    expect(livenessOf(thisRun)).toBe('self')
    // By label, as the store's marks name their owner: only a dead one of this host is dead.
    expect(ownerAlive(`${hostname()}:${pid}`)).toBe(false)
    expect(ownerAlive(processOwner)).toBe(true)
    expect(ownerAlive(`elsewhere:${pid}`)).toBe(true)
    expect(ownerAlive('not an owner')).toBe(true)
  })
})
