/**
 * Names close to one the user typed, so an error can suggest what was meant without listing every
 * name on a shared engine.
 */

/** At most this many suggestions are shown. */
const SHOWN = 5

/** Edit distance (insertions, deletions, substitutions, swaps of neighbours) between two strings. */
export function editDistance(a: string, b: string): number {
  // rows[i][j]: distance between the first i characters of a and the first j of b.
  const rows: number[][] = [Array.from({ length: b.length + 1 }, (_, j) => j)]
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      let best = Math.min(
        rows[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
        rows[i - 1]![j]! + 1,
        row[j - 1]! + 1
      )
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, rows[i - 2]![j - 2]! + 1)
      }
      row.push(best)
    }
    rows.push(row)
  }
  return rows[a.length]![b.length]!
}

/**
 * The candidates near `asked`, closest first: a few typing mistakes away (a third of its length,
 * at least one), or holding it or held by it (case aside) when it has 3 characters or more.
 */
export function nearMatches(asked: string, candidates: Iterable<string>): string[] {
  const wanted = asked.toLowerCase()
  const tolerance = Math.max(1, Math.floor(wanted.length / 3))
  const scored: { name: string; distance: number }[] = []
  for (const name of new Set(candidates)) {
    if (name === asked) continue
    const candidate = name.toLowerCase()
    const distance = editDistance(wanted, candidate)
    const contains =
      wanted.length >= 3 && (candidate.includes(wanted) || wanted.includes(candidate))
    if (distance <= tolerance || contains) scored.push({ name, distance })
  }
  scored.sort((a, b) => a.distance - b.distance || a.name.localeCompare(b.name))
  return scored.slice(0, SHOWN).map(match => match.name)
}

/** `Did you mean a or b?`, or `` when nothing is near. */
export function didYouMean(matches: string[]): string {
  if (matches.length === 0) return ''
  const quoted = matches.map(name => `'${name}'`)
  const list =
    quoted.length === 1 ? quoted[0]! : `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)!}`
  return ` Did you mean ${list}?`
}
