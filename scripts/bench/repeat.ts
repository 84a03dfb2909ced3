import { execFileSync } from 'node:child_process'
import { log, sh } from './process.js'
import type { Run } from './stats.js'

/** Reads a path through (tar to a byte count), so that it is in the page cache. */
const READ_THROUGH = 'tar -cf - "$1" 2>/dev/null | wc -c'

/**
 * Before each run: write back what earlier runs left dirty (1 GiB of writeback would otherwise
 * slow the next run down), and read what the run will read, so that it is in the page cache.
 * "Warm" has to be renewed: some kernels (DAMON reclaim, as on these VMs) page out file pages
 * untouched for a minute.
 */
async function prepareRun(warm: string[]): Promise<void> {
  execFileSync('sync')
  for (const path of warm) await sh(READ_THROUGH, [path])
}

/** Runs `measure` `n` times, warming `warm` before each (each run does its own CPU accounting). */
export async function repeat<T extends Run>(
  n: number,
  label: string,
  measure: (i: number) => Promise<T>,
  warm: string[] = []
): Promise<T[]> {
  const runs: T[] = []
  for (let i = 1; i <= n; i++) {
    await prepareRun(warm)
    const r = await measure(i)
    runs.push(r)
    log(`${label} ${i}/${n}: ${r.seconds.toFixed(2)} s${r.rssMiB ? `, ${r.rssMiB} MiB` : ''}`)
  }
  return runs
}
