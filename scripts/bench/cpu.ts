// CPU accounting: the bench's own process and its reaped children (node + zstd, or tar + zstd),
// the engine (dockerd), and the rest of the machine.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { log, sleep } from './process.js'
import { round } from './stats.js'

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100

/** CPU seconds a measurement used, split by who used them. */
export interface CpuSeconds {
  /** The bench process and the processes it started. */
  children: number
  dockerd: number | null
  /** Everything else the machine did meanwhile: a large value means the wall time is noisy. */
  other: number
}

interface ProcessCpu {
  self: number
  children: number
}

/** utime + stime, and cutime + cstime, of a process, in seconds. */
function processCpu(pid: number | 'self'): ProcessCpu | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const field = (i: number) => Number(fields[i - 3]) / CLK_TCK
    return { self: field(14) + field(15), children: field(16) + field(17) }
  } catch {
    return null
  }
}

const total = (cpu: ProcessCpu) => cpu.self + cpu.children

export function findDockerdPid(): number | null {
  for (const file of ['/var/run/docker.pid', '/run/docker.pid']) {
    try {
      const pid = Number(readFileSync(file, 'utf8').trim())
      if (pid > 0 && processCpu(pid)) return pid
    } catch {
      // try the next
    }
  }
  try {
    const pid = Number(execFileSync('pidof', ['-s', 'dockerd'], { encoding: 'utf8' }).trim())
    return pid > 0 ? pid : null
  } catch {
    return null
  }
}

/** Busy and total CPU seconds of the whole machine so far (all cores), from /proc/stat. */
function machineCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number) as number[]
  const busy = user! + nice! + system! + irq! + softirq! + steal!
  return { busy: busy / CLK_TCK, total: (busy + idle! + iowait!) / CLK_TCK }
}

/**
 * Waits until the machine is quiet (others use under 10% of it over 2 s), at most `seconds`;
 * timings taken while other work runs are noisy. Returns the busy share last seen.
 */
export async function waitIdle(seconds: number): Promise<number> {
  const deadline = Date.now() + seconds * 1000
  for (let first = true; ; first = false) {
    const a = machineCpu()
    await sleep(2000)
    const b = machineCpu()
    const busy = (b.busy - a.busy) / (b.total - a.total)
    const percent = Math.round(busy * 100)
    if (busy < 0.1) return round(busy, 2)
    if (Date.now() >= deadline) {
      log(`warning: the machine stays busy (${percent}% CPU used by others); timings will be noisy`)
      return round(busy, 2)
    }
    if (first) log(`waiting up to ${seconds} s for the machine to be idle (now ${percent}% busy)`)
  }
}

/** Runs `measure` and adds the CPU seconds used meanwhile and the load average before it. */
export async function withCpu<T extends object>(
  dockerdPid: number | null,
  measure: () => Promise<T>
): Promise<T & { cpu: CpuSeconds; load1: number }> {
  const sample = () => ({
    me: processCpu('self')!,
    engine: dockerdPid === null ? null : processCpu(dockerdPid),
    machine: machineCpu()
  })
  const load1 = round(loadavg()[0]!, 2)
  const before = sample()
  const result = await measure()
  const after = sample()
  const ours = total(after.me) - total(before.me)
  const dockerd = before.engine && after.engine ? total(after.engine) - total(before.engine) : null
  const busy = after.machine.busy - before.machine.busy
  const cpu = {
    children: round(ours, 2),
    dockerd: round(dockerd, 2),
    other: round(Math.max(0, busy - ours - (dockerd ?? 0)), 2)
  }
  return { ...result, cpu, load1 }
}
