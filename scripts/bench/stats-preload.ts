// Loaded into the CLI's process (`node --import`): when that process exits, writes its peak
// resident set (VmHWM, the kernel's own high-water mark), current RSS and CPU seconds to the
// file named by DSBENCH_STATS_FILE. Imports nothing but node:fs, so that it adds no memory.
import { readFileSync, writeFileSync } from 'node:fs'

/** What the preload reports. */
export interface ProcessStats {
  vmHwmKiB: number
  vmRssKiB: number
  cpuSeconds: number
}

function statusKiB(status: string, key: string): number {
  const match = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)
  return Number(match?.[1])
}

function report(out: string): void {
  try {
    const status = readFileSync('/proc/self/status', 'utf8')
    const cpu = process.cpuUsage()
    const stats: ProcessStats = {
      vmHwmKiB: statusKiB(status, 'VmHWM'),
      vmRssKiB: statusKiB(status, 'VmRSS'),
      cpuSeconds: (cpu.user + cpu.system) / 1e6
    }
    writeFileSync(out, JSON.stringify(stats))
  } catch {
    // The bench reports the missing file; the CLI's own exit must not change.
  }
}

const out = process.env.DSBENCH_STATS_FILE
if (out) process.on('exit', () => report(out))
