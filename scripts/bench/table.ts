/** A plain-text table: the first column left-aligned, the others right-aligned. */
export function table(rows: (string | number | null | undefined)[][], headers: string[]): string {
  const cells = [
    headers,
    ...rows.map(r => r.map(c => (c === null || c === undefined ? '' : String(c))))
  ]
  const widths = headers.map((_, i) => Math.max(...cells.map(r => (r[i] ?? '').length)))
  const line = (r: string[]) =>
    widths.map((w, i) => (i === 0 ? (r[i] ?? '').padEnd(w) : (r[i] ?? '').padStart(w))).join('  ')
  return [
    line(cells[0]!),
    widths.map(w => '-'.repeat(w)).join('  '),
    ...cells.slice(1).map(line)
  ].join('\n')
}
