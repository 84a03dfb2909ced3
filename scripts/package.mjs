// `npm run package`: everything generated from sources, so that the dist check can rebuild it and
// compare. action.yml is the one source of inputs: from it come src/app/inputs.ts (the
// CLI's flags and every default) and README's usage table; README's bad-input table comes from the
// cases the unit test runs. Then esbuild bundles the entry points (scripts/bundle.mjs).
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { parse } from 'yaml'
import { badInputTable, between } from './bad-input-table.mjs'
import { bundle } from './bundle.mjs'

const action = parse(readFileSync('action.yml', 'utf8'))

const inputs = Object.fromEntries(
  Object.entries(action.inputs).map(([name, spec]) => [
    name,
    { description: spec.description, default: String(spec.default ?? '') }
  ])
)
writeFileSync(
  'src/app/inputs.ts',
  '// Generated from action.yml by scripts/package.mjs; do not edit.\n' +
    `export const INPUTS = ${JSON.stringify(inputs, null, 2)} as const\n\n` +
    'export type InputName = keyof typeof INPUTS\n'
)

const cell = text => String(text).replace(/\|/g, '\\|').replace(/\n/g, ' ')
const table = [
  '| input | default | description |',
  '| --- | --- | --- |',
  ...Object.entries(inputs).map(
    ([name, spec]) =>
      `| \`${name}\` | ${spec.default ? `\`${cell(spec.default)}\`` : ''} | ${cell(spec.description)} |`
  ),
  '',
  '| output | description |',
  '| --- | --- |',
  ...Object.entries(action.outputs).map(
    ([name, spec]) => `| \`${name}\` | ${cell(spec.description)} |`
  )
].join('\n')
// Node reads the cases' TypeScript with its types stripped.
const { BAD_INPUTS } = await import('../__tests__/bad-input.ts')
writeFileSync(
  'README.md',
  between(
    between(readFileSync('README.md', 'utf8'), 'usage', table),
    'bad-input',
    badInputTable(BAD_INPUTS)
  )
)
execFileSync('npx', ['prettier', '--write', 'src/app/inputs.ts', 'README.md'], {
  stdio: 'ignore'
})

await bundle()
