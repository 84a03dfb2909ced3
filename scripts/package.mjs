// `npm run package`: everything generated from sources, so that the dist check can rebuild it and
// compare. action.yml is the one source of inputs: from it come src/app/inputs.ts (the
// CLI's flags and every default) and README's usage table; README's bad-input table comes from the
// cases the unit test runs. Then ncc bundles the entry points.
import { execFileSync } from 'node:child_process'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { parse } from 'yaml'
import { badInputTable, between } from './bad-input-table.mjs'

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

rmSync('dist', { recursive: true, force: true })
for (const [entry, out] of [
  ['src/action/index.ts', 'dist/main'],
  ['src/action/post.ts', 'dist/post'],
  ['src/cli/index.ts', 'dist/cli']
]) {
  execFileSync('npx', ['ncc', 'build', entry, '-o', out, '--license', 'licenses.txt', '-q'], {
    stdio: 'inherit'
  })
}
// The bundles are ES modules, but a few bundled CommonJS files (ssh2's wasm loader, reached
// through dockerode) read __dirname, which ES modules lack: define it at the top of each bundle.
const cjsGlobals =
  "import { fileURLToPath as __dsFileURLToPath } from 'node:url'\n" +
  'const __filename = __dsFileURLToPath(import.meta.url)\n' +
  "const __dirname = __filename.replace(/[\\\\/][^\\\\/]*$/, '')\n"
for (const bundle of ['dist/main/index.js', 'dist/post/index.js', 'dist/cli/index.js']) {
  const code = readFileSync(bundle, 'utf8')
  const shebang = code.startsWith('#!') ? code.slice(0, code.indexOf('\n') + 1) : ''
  writeFileSync(bundle, shebang + cjsGlobals + code.slice(shebang.length))
}
// Node must be told that the bundles are ES modules.
writeFileSync('dist/package.json', '{ "type": "module" }\n')
