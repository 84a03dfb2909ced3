// README's "Bad input" table, from the table the unit test runs (__tests__/bad-input.ts, which
// Node reads with its types stripped): each case, the value tried and the message it gets.

const cell = text => String(text).replace(/\|/g, '\\|').replace(/\n/g, ' ')
const code = text => `\`${cell(text)}\``

/** A value as README shows it: escaped when it holds line breaks, `(empty)` when empty. */
function shown(value) {
  if (!value.trim()) return '(empty)'
  return code(/[\n\r\t]/.test(value) ? JSON.stringify(value) : value)
}

/** A command-line word as a shell takes it. */
const word = text => (/^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`)

function tried(row) {
  if (!row.inputs) return code(`docker-snapshot ${row.argv.map(word).join(' ')}`)
  const own = row.label ?? shown(row.inputs[row.input] ?? row.value)
  const others = Object.entries(row.inputs)
    .filter(([name]) => name !== row.input)
    .map(([name, value]) => code(`${name}: ${value}`))
  return others.length ? `${own} with ${others.join(', ')}` : own
}

/** The markdown table for `rows` (BAD_INPUTS). */
export function badInputTable(rows) {
  return [
    '| input | tried | where | message |',
    '| --- | --- | --- | --- |',
    ...rows.map(
      row =>
        `| \`${row.input}\` | ${tried(row)} | ${row.inputs ? (row.argv === false ? 'action' : 'action, CLI') : 'CLI'} | ${cell(row.message)} |`
    )
  ].join('\n')
}

/** Puts `table` between `<!-- name:start -->` and `<!-- name:end -->` in `text`. */
export function between(text, name, table) {
  const start = `<!-- ${name}:start -->`
  const end = `<!-- ${name}:end -->`
  if (!text.includes(start) || !text.includes(end))
    throw new Error(`README.md lacks ${start} ... ${end}`)
  return text.replace(new RegExp(`${start}[\\s\\S]*${end}`), `${start}\n${table}\n${end}`)
}
