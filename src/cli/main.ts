/**
 * The CLI's front end, sibling of the action's src/main.ts: arguments in, the same Settings and
 * run, then a display and an exit code out.
 */
import { describeError } from '../shared/errors.js'
import type { RunContext, RunResult } from '../app/runner.js'
import { drill, execute, repairAbandonedRuns } from '../app/runner.js'
import { pruneSnapshots } from '../app/prune.js'
import { listSnapshots } from '../stores/catalog.js'
import type { Settings } from '../app/settings.js'
import type { StoreSpec } from '../stores/spec.js'
import { isMaskable, readSettings } from '../app/settings.js'
import type { QuiesceAction } from '../snapshot/quiesce.js'
import { openStore } from '../stores/index.js'
import type { SnapshotStore } from '../stores/store.js'
import { TOOL_VERSION } from '../shared/version.js'
import type { Invocation, ParsedArgs } from './args.js'
import { UsageError, inputSource, parseArgs } from './args.js'
import type { CommandName } from './commands.js'
import { FLAG_ENVIRONMENT, SECRET_INPUTS } from './commands.js'
import { EXIT_INTERRUPTED, EXIT_OK, EXIT_UNTRUSTED, EXIT_USAGE, exitCodeFor } from './exit-codes.js'
import { commandHelp, generalHelp } from './help.js'
import type { SignalName, SignalSource } from './interrupt.js'
import { Interruption, heldContainersAdvice, stoppingAtPhaseEnds } from './interrupt.js'
import type { TextStream } from '../app/progress.js'
import { createDisplay } from '../app/progress.js'
import {
  drillSummary,
  pruneSummary,
  reportsUntrusted,
  runSummary,
  snapshotTable
} from './summary.js'

/** Everything the CLI takes from its process; tests pass fakes. */
export interface CliEnvironment {
  stdout: TextStream
  stderr: TextStream
  env: Readonly<Record<string, string | undefined>>
  signals: SignalSource
  now: () => number
  /** Leaves at once: used only when the user interrupts a second time. */
  exit: (code: number) => void
  execute: (settings: Settings, context: RunContext) => Promise<RunResult>
  /** What ls and prune, which need no engine otherwise, do first: see runner.ts. */
  repair: (settings: Settings, log: RunContext['log']) => Promise<void>
  openStore: (spec: StoreSpec, access: 'read' | 'write') => Promise<SnapshotStore>
}

function processEnvironment(): CliEnvironment {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    signals: process,
    now: Date.now,
    exit: code => process.exit(code),
    execute,
    repair: repairAbandonedRuns,
    openStore
  }
}

/** Replaces every secret in text with `***`. */
export class Masker {
  private secrets: string[] = []

  constructor(secrets: Iterable<string> = []) {
    for (const secret of secrets) this.add(secret)
  }

  add(secret: string): void {
    if (!isMaskable(secret) || this.secrets.includes(secret)) return
    // Longest first, so a secret that contains another is masked whole.
    this.secrets = [...this.secrets, secret].sort((a, b) => b.length - a.length)
  }

  mask(text: string): string {
    let masked = text
    for (const secret of this.secrets) masked = masked.split(secret).join('***')
    return masked
  }
}

/**
 * Secrets visible in the raw command line and environment, known before any parsing, so that
 * even an error about the arguments cannot print them.
 */
export function secretsOf(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>
): string[] {
  const secrets: string[] = []
  const valuesOf = (kind: 'value' | 'env-lines', text: string) =>
    kind === 'value'
      ? [text]
      : text
          .split('\n')
          .flatMap(line => (line.includes('=') ? [line.slice(line.indexOf('=') + 1)] : []))
  argv.forEach((word, index) => {
    for (const [name, kind] of Object.entries(SECRET_INPUTS)) {
      const flag = `--${name}`
      if (word === flag && index + 1 < argv.length) secrets.push(...valuesOf(kind, argv[index + 1]))
      if (word.startsWith(`${flag}=`)) secrets.push(...valuesOf(kind, word.slice(flag.length + 1)))
    }
  })
  for (const source of Object.values(FLAG_ENVIRONMENT)) {
    const value = env[source.variable]
    if (value) secrets.push(value)
  }
  return secrets.filter(Boolean)
}

/** Runs the CLI; resolves with the exit code (see exit-codes.ts). Never rejects. */
export async function main(
  argv: readonly string[],
  overrides: Partial<CliEnvironment> = {}
): Promise<number> {
  const io: CliEnvironment = { ...processEnvironment(), ...overrides }
  const masker = new Masker(secretsOf(argv, io.env))
  let parsed: ParsedArgs
  try {
    parsed = parseArgs(argv, io.env)
  } catch (error) {
    const json = argv.includes('--json')
    const display = createDisplay({
      json,
      quiet: false,
      stdout: io.stdout,
      stderr: io.stderr,
      mask: text => masker.mask(text)
    })
    const command = error instanceof UsageError ? error.command : undefined
    display.finish({
      command: command ?? '',
      ok: false,
      exitCode: EXIT_USAGE,
      error: errorInfo(error)
    })
    if (!json) {
      io.stderr.write(`run 'docker-snapshot ${command ? `${command} ` : ''}--help' for usage\n`)
    }
    return EXIT_USAGE
  }
  if (parsed.kind === 'version') {
    io.stdout.write(`docker-snapshot ${TOOL_VERSION}\n`)
    return EXIT_OK
  }
  if (parsed.kind === 'help') {
    const stream = parsed.usage ? io.stderr : io.stdout
    stream.write(
      parsed.command ? commandHelp(parsed.command, stream.columns) : generalHelp(stream.columns)
    )
    return parsed.usage ? EXIT_USAGE : EXIT_OK
  }
  return runCommand(parsed, io, masker)
}

function errorInfo(error: unknown): { name: string; message: string } {
  return {
    name: error instanceof Error ? error.name : 'Error',
    message: describeError(error)
  }
}

/** What a command produced: for machines, for people, and its exit code. */
interface Done {
  result: unknown
  text: string
  exitCode: number
}

async function runCommand(
  invocation: Invocation,
  io: CliEnvironment,
  masker: Masker
): Promise<number> {
  const display = createDisplay({
    json: invocation.json,
    quiet: invocation.quiet,
    stdout: io.stdout,
    stderr: io.stderr,
    now: io.now,
    mask: text => masker.mask(text)
  })
  const interruption = new Interruption()
  // What the run holds paused or stopped right now, as it announces before and after each change.
  let held: QuiesceAction[] = []
  const stopListening = interruption.listen(io.signals, {
    first: signal => display.notice(interruptNotice(signal, invocation.command)),
    again: signal => {
      display.notice(
        `received ${signal} again: quitting without waiting` +
          (held.length > 0 ? `; ${heldContainersAdvice(held)}` : '') +
          (invocation.command === 'restore'
            ? "; originals a replace set aside keep their '-aside-' names: see " +
              "'If a replace is cut short' in the README"
            : '')
      )
      io.exit(EXIT_INTERRUPTED)
    }
  })
  const context: RunContext = {
    log: stoppingAtPhaseEnds(display.log, interruption),
    onTransfer: display.onTransfer,
    signal: interruption.signal,
    onQuiesce: actions => {
      held = [...actions]
    }
  }
  const command = invocation.command
  try {
    const settings = readSettings(inputSource(invocation))
    for (const secret of settings.secrets) masker.add(secret)
    const done = await perform(invocation, settings, context, io)
    if (interruption.requested) {
      display.finish({
        command,
        ok: false,
        exitCode: EXIT_INTERRUPTED,
        result: done.result,
        text: done.text,
        error: {
          name: 'InterruptedError',
          message: `interrupted by ${interruption.requested}, but ${command} had already finished`
        }
      })
      return EXIT_INTERRUPTED
    }
    display.finish({
      command,
      ok: done.exitCode === EXIT_OK,
      exitCode: done.exitCode,
      result: done.result,
      text: done.text,
      ...(done.exitCode === EXIT_UNTRUSTED && {
        error: { name: 'VerificationFailed', message: `${command} found the snapshot untrusted` }
      })
    })
    return done.exitCode
  } catch (error) {
    const signal = interruption.requested
    if (signal) {
      display.finish({
        command,
        ok: false,
        exitCode: EXIT_INTERRUPTED,
        error: {
          name: 'InterruptedError',
          message: interruptedMessage(signal, error, held, command)
        }
      })
      return EXIT_INTERRUPTED
    }
    const exitCode = exitCodeFor(error)
    display.finish({ command, ok: false, exitCode, error: errorInfo(error) })
    if (exitCode === EXIT_USAGE && !invocation.json) {
      io.stderr.write(`run 'docker-snapshot ${command} --help' for usage\n`)
    }
    return exitCode
  } finally {
    stopListening()
  }
}

/** Commands that pause or stop containers, and so must say whether any is still held. */
function holdsContainers(command: CommandName): boolean {
  return command === 'snapshot' || command === 'drill'
}

function interruptNotice(signal: SignalName, command: CommandName): string {
  return (
    `received ${signal}: stopping at the next safe point` +
    (holdsContainers(command) ? ' and bringing paused or stopped containers back' : '') +
    (command === 'restore' ? ' and putting back any originals a replace set aside' : '') +
    `; ${signal === 'SIGINT' ? 'press Ctrl-C' : 'send it'} again to quit without waiting`
  )
}

/** What happened, after an interrupted run has unwound. */
function interruptedMessage(
  signal: SignalName,
  error: unknown,
  held: readonly QuiesceAction[],
  command: CommandName
): string {
  const cause =
    error instanceof Error && error.name === 'InterruptedError' ? '' : describeError(error)
  return (
    `interrupted by ${signal}` +
    (cause ? ` (the run stopped with: ${cause})` : '') +
    // Other commands hold nothing; a restore's own message says what it put back.
    (holdsContainers(command)
      ? `; ${heldContainersAdvice(held) ?? 'no container is left paused or stopped'}`
      : '')
  )
}

async function perform(
  invocation: Invocation,
  settings: Settings,
  context: RunContext,
  io: CliEnvironment
): Promise<Done> {
  switch (invocation.command) {
    case 'snapshot':
    case 'restore':
    case 'verify': {
      const result = await io.execute(settings, context)
      return {
        result,
        text: runSummary(result),
        exitCode: reportsUntrusted(result) ? EXIT_UNTRUSTED : EXIT_OK
      }
    }
    case 'ls': {
      const store = await io.openStore(settings.store, 'read')
      await io.repair(settings, context.log)
      if (store.listLimit) context.log.warn(store.listLimit)
      const snapshots = await listSnapshots(store)
      if (snapshots.length === 0) context.log.info(`no snapshots in ${store.description}`)
      return {
        result: { store: store.description, snapshots },
        text: snapshotTable(snapshots),
        exitCode: EXIT_OK
      }
    }
    case 'prune': {
      const store = await io.openStore(settings.store, 'read')
      await io.repair(settings, context.log)
      const pruned = await pruneSnapshots(
        store,
        { ...settings.prune, now: new Date(io.now()) },
        context.log
      )
      return { result: pruned, text: pruneSummary(pruned), exitCode: EXIT_OK }
    }
    case 'drill': {
      const report = await drill(settings, context, {
        demo: invocation.switches.demo ?? false,
        destroy: invocation.switches.destroy ?? false
      })
      return {
        result: report,
        text: drillSummary(report),
        exitCode: report.ok ? EXIT_OK : EXIT_UNTRUSTED
      }
    }
  }
}
