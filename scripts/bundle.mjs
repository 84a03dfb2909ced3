// The bundles in dist/, made by esbuild for `npm run package`: one entry for the action (action.yml
// runs it as the main and the post step) and one for the CLI, ES modules sharing what both load in
// dist/chunks/, and the licenses of every bundled package in dist/licenses.txt.
import { execFileSync } from 'node:child_process'
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { build } from 'esbuild'

// Bundled CommonJS files call require (of Node's own modules) and read __dirname (ssh2's
// WebAssembly loader), which ES modules lack: each output file defines them first. esbuild does
// not see the banner, so a bundled ES module declaring the same names at its top level lands
// beside it unrenamed (@azure/storage-common's crc64.js has `var __filename; var __dirname;`):
// `var` may be declared twice where `const` is a SyntaxError that fails the whole chunk.
const COMMONJS_GLOBALS = [
  "import { createRequire as __dsCreateRequire } from 'node:module'",
  "import { dirname as __dsDirname } from 'node:path'",
  "import { fileURLToPath as __dsFileURLToPath } from 'node:url'",
  'const require = __dsCreateRequire(import.meta.url)',
  'var __filename = __dsFileURLToPath(import.meta.url)',
  'var __dirname = __dsDirname(__filename)'
].join('\n')

// Loaded by dockerode and ssh2, never called by docker-snapshot: gRPC and protobufjs (with their
// .proto files) serve only dockerode's BuildKit builds, tar-fs and @balena/dockerignore only its
// builds from a directory, and ssh2 probes the CPU with the native cpu-features when it can and
// does without when it cannot. In the bundle each is a stand-in that throws when used.
const LEFT_OUT =
  /^(@grpc\/grpc-js|@grpc\/proto-loader|protobufjs|tar-fs|@balena\/dockerignore|cpu-features)$/
const leftOut = {
  name: 'left-out',
  setup(build) {
    build.onResolve({ filter: LEFT_OUT }, args => ({ path: args.path, namespace: 'left-out' }))
    build.onLoad({ filter: /.*/, namespace: 'left-out' }, args => ({
      contents:
        `const fail = () => { throw new Error('${args.path} is not in the bundle') }\n` +
        'module.exports = new Proxy(fail, { get: () => fail, apply: fail })\n',
      loader: 'js'
    }))
  }
}

// @actions/core imports its HTTP client (undici, for OIDC tokens) and @actions/exec (for platform
// details), which the action never calls and which do nothing when loaded: telling esbuild so lets
// it drop them.
const UNUSED_BY_CORE = /^(@actions\/(http-client|exec|io)|undici|tunnel)(\/|$)/
const withoutSideEffects = {
  name: 'without-side-effects',
  setup(build) {
    build.onResolve({ filter: UNUSED_BY_CORE }, async args => {
      if (args.pluginData === 'resolving') return undefined
      const { path, errors } = await build.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: 'resolving'
      })
      return { path, errors, sideEffects: false }
    })
  }
}

/** The package.json directory of a bundled file under node_modules, or undefined. */
function packageDirectory(file) {
  const at = file.lastIndexOf('node_modules/')
  if (at < 0) return undefined
  const [scope, name] = file.slice(at + 'node_modules/'.length).split('/')
  return file.slice(0, at) + 'node_modules/' + (scope.startsWith('@') ? `${scope}/${name}` : scope)
}

/** One entry per bundled package: name, version, license and its license file's text. */
function licenses(metafile) {
  const directories = new Set()
  for (const output of Object.values(metafile.outputs)) {
    for (const [file, { bytesInOutput }] of Object.entries(output.inputs)) {
      const directory = packageDirectory(file)
      if (directory && bytesInOutput > 0) directories.add(directory)
    }
  }
  // A package installed twice (in two node_modules) is listed once.
  return [...directories]
    .map(directory => {
      const pkg = JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8'))
      const file = readdirSync(directory).find(name => /^(licen[cs]e|copying)/i.test(name))
      const text = file
        ? readFileSync(join(directory, file), 'utf8').trim()
        : '(the package ships no license file)'
      return `${pkg.name}@${pkg.version}\n${pkg.license ?? ''}\n\n${text}\n`
    })
    .filter((entry, at, all) => all.indexOf(entry) === at)
    .sort()
    .join('\n----------------------------------------\n\n')
}

export async function bundle() {
  rmSync('dist', { recursive: true, force: true })
  const { metafile } = await build({
    entryPoints: { action: 'src/action/index.ts', cli: 'src/cli/index.ts' },
    outdir: 'dist',
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    banner: { js: COMMONJS_GLOBALS },
    // Whitespace only: names stay as written, so a stack trace still reads; the artifact and
    // cache clients' Azure and GitHub SDKs would otherwise make dist/ 7 MB.
    minifyWhitespace: true,
    plugins: [leftOut, withoutSideEffects],
    metafile: true,
    logLevel: 'warning'
  })
  // Node must be told that the bundles are ES modules.
  writeFileSync('dist/package.json', '{ "type": "module" }\n')
  writeFileSync('dist/licenses.txt', licenses(metafile))
  // Every output must parse: a chunk that does not fails only when first loaded (the artifact
  // and cache stores' chunks load lazily), long after the build.
  for (const file of Object.keys(metafile.outputs).filter(name => name.endsWith('.js'))) {
    execFileSync(process.execPath, ['--check', file], { stdio: 'inherit' })
  }
}
