import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  access,
  constants,
  mkdtemp,
  readFile,
  realpath,
  rm,
  stat,
  writeFile
} from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { Readable } from 'node:stream'
import { promisify } from 'node:util'
import { pack } from 'tar-stream'
import { InvalidSettingsError, describeError } from '../shared/errors.js'
import type { Logger } from '../shared/log.js'
import type { Engine } from './engine.js'

/** How volumes are copied: a helper container next to the data, or the engine's archive API. */
export type CopyMethod = 'helper' | 'archive'
export type CopyMethodChoice = 'auto' | CopyMethod

/** What a copy through the engine's archive API loses, said per volume in reports. */
export const ARCHIVE_API_LOSSES = [
  'extended attributes (but security.capability)',
  'POSIX ACLs',
  'sparseness'
]

/** The host programs the copy helper runs; the image holds these and their libraries only. */
export const COPY_TOOLS = ['sh', 'tar', 'zstd', 'gzip']

const HELPER_REPOSITORY = 'docker-snapshot/copier'

/** The helper's image and the host folder it shares; `forced` when copy-method asked for it. */
export interface HelperMethod {
  method: 'helper'
  image: string
  workRoot: string
  forced: boolean
}
/** The chosen method: a helper next to the data, or the archive API (and why). */
export type VolumeCopyMethod = HelperMethod | { method: 'archive'; reason: string }

const run = promisify(execFile)

/** The absolute path of `tool` on this host's PATH, or undefined. */
async function findOnPath(tool: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    if (!dir) continue
    const candidate = join(dir, tool)
    try {
      await access(candidate, constants.X_OK)
      if ((await stat(candidate)).isFile()) return candidate
    } catch {
      // not here
    }
  }
  return undefined
}

/** The shared libraries (and the loader) `ldd` lists for `binary`, as absolute paths. */
async function librariesOf(binary: string): Promise<string[]> {
  const { stdout } = await run('ldd', [binary])
  const paths: string[] = []
  for (const line of stdout.split('\n')) {
    const match = /(?:=>\s*)?(\/\S+)\s+\(0x[0-9a-f]+\)/.exec(line)
    if (match) paths.push(match[1])
  }
  return paths
}

/**
 * The files of an image holding `tools` (at /bin/<tool>) and their libraries (at the paths
 * ldd names), keyed by their path in the image, with the host path to read. Throws naming a
 * missing tool.
 */
export async function toolFiles(tools: string[]): Promise<Map<string, string>> {
  const files = new Map<string, string>()
  for (const tool of tools) {
    const found = await findOnPath(tool)
    if (!found) throw new Error(`${tool} is not installed on this host`)
    const binary = await realpath(found)
    files.set(`bin/${tool}`, binary)
    for (const library of await librariesOf(binary)) {
      files.set(library.slice(1), await realpath(library))
    }
  }
  return files
}

/**
 * Makes sure an image holding `tools` exists, built from this host's own binaries (nothing is
 * pulled); its tag is a hash of the files, so it is built once per host and again when they
 * change. Returns its reference.
 */
export async function ensureToolImage(
  engine: Engine,
  tools: string[],
  repository = HELPER_REPOSITORY
): Promise<string> {
  const files = new Map([...(await toolFiles(tools))].sort(([a], [b]) => a.localeCompare(b)))
  const contents = new Map<string, Buffer>()
  const hash = createHash('sha256')
  for (const [path, source] of files) {
    const content = await readFile(source)
    contents.set(path, content)
    hash.update(`${path}\0${content.length}\0`).update(content)
  }
  const tag = hash.digest('hex').slice(0, 16)
  const reference = `${repository}:${tag}`
  if (await engine.findImage(reference)) return reference
  const rootfs = pack()
  for (const [path, content] of contents) {
    rootfs.entry({ name: path, mode: 0o755, uid: 0, gid: 0 }, content)
  }
  rootfs.finalize()
  await engine.importImage(Readable.from(rootfs), repository, tag)
  return reference
}

/** The engine's name for this process's architecture (Node says x64 where Docker says amd64). */
function engineArch(): string {
  const names: Record<string, string> = { x64: 'amd64', ia32: '386', ppc64: 'ppc64le' }
  return names[process.arch] ?? process.arch
}

/** A file the host puts in each helper's folder: a helper that does not see it runs elsewhere. */
export const HOST_MARKER = '.docker-snapshot-host'
/** How a helper exits when its folder is not this host's (or it cannot write there). */
export const NOT_SHARED_EXIT = 97

/**
 * A helper script's first step: proves that the folder mounted at `mount` is this host's (the
 * engine makes an empty one for a bind source it lacks) and, when asked, writable by it.
 */
export function sharedCheck(mount: string, writes: boolean): string {
  const write = writes ? ` && { : > ${mount}/index; } 2>/dev/null` : ''
  return `[ -f ${mount}/${HOST_MARKER} ]${write} || exit ${NOT_SHARED_EXIT}; `
}

/** A fresh folder under `workRoot` for one helper run, holding the host marker. */
export async function helperFolder(workRoot: string, purpose: string): Promise<string> {
  const dir = await mkdtemp(join(workRoot, `docker-snapshot-${purpose}-`))
  await writeFile(join(dir, HOST_MARKER), '')
  return dir
}

/**
 * After a helper found that its folder is not this host's: the archive API for the rest of
 * the run under `auto`; a failure when the helper was asked for.
 */
export function notShared(method: HelperMethod, log: Logger): VolumeCopyMethod {
  const reason = `a container does not see this host's folder ${method.workRoot} (the engine runs elsewhere)`
  if (method.forced) {
    throw new InvalidSettingsError(
      `copy-method helper cannot run here: ${reason}. Expected a local engine, or copy-method ` +
        'auto or archive.'
    )
  }
  log.info(
    `volumes are copied through the engine's archive API from here on (${reason}); it does ` +
      `not keep ${ARCHIVE_API_LOSSES.join(', ')}`
  )
  return { method: 'archive', reason }
}

/**
 * Chooses how volumes are copied. `auto` takes the helper when the engine is local (a unix
 * socket, this architecture, this host's folders) and the tools are installed, else the
 * archive API; `helper` fails when it cannot run. Logs the choice and why.
 */
export async function chooseCopyMethod(
  engine: Engine,
  choice: CopyMethodChoice,
  log: Logger,
  workRoot = tmpdir()
): Promise<VolumeCopyMethod> {
  if (choice === 'archive') {
    log.info("volumes are copied through the engine's archive API (copy-method archive)")
    return { method: 'archive', reason: 'copy-method archive' }
  }
  try {
    if (!/^(unix:\/\/)?\//.test(engine.host)) {
      throw new Error(`the engine at ${engine.host} is not a local unix socket`)
    }
    const { arch } = await engine.info()
    if (arch !== engineArch()) {
      throw new Error(`the engine runs ${arch}, this host ${engineArch()}`)
    }
    // Each helper proves, by a marker, that the engine sees this folder (see sharedCheck).
    await rm(await helperFolder(workRoot, 'check'), { recursive: true })
    const image = await ensureToolImage(engine, COPY_TOOLS)
    log.info(`volumes are copied by a helper container next to the data (${image})`)
    return { method: 'helper', image, workRoot, forced: choice === 'helper' }
  } catch (error) {
    const reason = describeError(error)
    if (choice === 'helper') {
      throw new InvalidSettingsError(
        `copy-method helper cannot run here: ${reason}. Expected a local engine on a unix ` +
          `socket with GNU tar, zstd and gzip on this host, or copy-method auto or archive.`,
        { cause: error }
      )
    }
    log.info(
      `volumes are copied through the engine's archive API (the helper cannot run: ${reason}); ` +
        `it does not keep ${ARCHIVE_API_LOSSES.join(', ')}`
    )
    return { method: 'archive', reason }
  }
}
