import type { CpuSeconds } from './cpu.js'

/** One timed run of a measurement; pipelines fill the optional fields they know. */
export interface Run {
  seconds: number
  cpu?: CpuSeconds & { node?: number | null }
  load1?: number
  outBytes?: number | null
  rssMiB?: number | null
  treeMaxRssMiB?: number | null
}

/** Median and best of a measurement's runs, plus the medians of what the runs share. */
export interface Summary {
  runs: number
  median: number
  best: number
  all: number[]
  outBytes: number | null
  cpuChildren: number | null
  cpuNode: number | null
  cpuDockerd: number | null
  cpuOther: number | null
  rssMiB: number | null
  rssMaxMiB: number | null
  treeMaxRssMiB: number | null
  load1: (number | undefined)[]
}

export function round(x: number, digits?: number): number
export function round(x: number | null | undefined, digits?: number): number | null
export function round(x: number | null | undefined, digits = 2): number | null {
  return x === null || x === undefined ? null : Number(x.toFixed(digits))
}

export const mb = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`

export function median(values: (number | null | undefined)[]): number | null {
  const v = values.filter((x): x is number => typeof x === 'number').sort((a, b) => a - b)
  if (v.length === 0) return null
  const mid = Math.floor(v.length / 2)
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2
}

const medianOf = (runs: Run[], get: (run: Run) => number | null | undefined) =>
  round(median(runs.map(get)), 2)

export function summarize(runs: Run[]): Summary {
  const secs = runs.map(r => r.seconds)
  const rss = runs.map(r => r.rssMiB).filter((x): x is number => typeof x === 'number')
  return {
    runs: runs.length,
    median: round(median(secs) ?? 0, 3),
    best: round(Math.min(...secs), 3),
    all: secs.map(x => round(x, 3)),
    outBytes: runs[0]?.outBytes ?? null,
    cpuChildren: medianOf(runs, r => r.cpu?.children),
    cpuNode: medianOf(runs, r => r.cpu?.node),
    cpuDockerd: medianOf(runs, r => r.cpu?.dockerd),
    cpuOther: medianOf(runs, r => r.cpu?.other),
    rssMiB: medianOf(runs, r => r.rssMiB),
    rssMaxMiB: rss.length ? Math.max(...rss) : null,
    treeMaxRssMiB: medianOf(runs, r => r.treeMaxRssMiB),
    load1: runs.map(r => r.load1)
  }
}
