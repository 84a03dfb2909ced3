/**
 * The CLI's front end, sibling of the action's src/main.ts: arguments in, the same Settings and
 * run, then a display and an exit code out.
 */
import { describeError } from '../shared/errors.js'
import type { SignalSource } from '../app/interrupt.js'
import { Interruption } from '../app/interrupt.js'
import type { RunBoundaries, RunContext } from '../app/runner.js'
import { drill, execute, list, realBoundaries } from '../app/runner.js'
import type { Settings } from '../app/settings.js'
import { readSettings } from '../app/settings.js'
import type { QuiesceAction } from '../snapshot/quiesce.js'
import { TOOL_VERSION } from '../shared/version.js'
import type { Invocation, ParsedArgs } from './args.js'
import { UsageError, inputSource, parseArgs } from './args.js'
import { EXIT_INTERRUPTED, EXIT_OK, EXIT_UNTRUSTED, EXIT_USAGE, exitCodeFor } from './exit-codes.js'
import { commandHelp, generalHelp } from './help.js'
import { interruptNotice, interruptedMessage, quitNotice } from './interrupt.js'
import type { TextStream } from '../app/progress.js'
import { createDisplay } from './display.js'
import { Masker, secretsOf } from './secrets.js'
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
  /** The engine, store and clock every command's run uses (see runner.ts). */
  boundaries: RunBoundaries
  /** Runs snapshot, restore, verify and prune: the runner's, unless a test stands in for it. */
  execute: typeof execute
}

function processEnvironment(): CliEnvironment {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    signals: process,
    now: Date.now,
    exit: code => process.exit(code),
    boundaries: realBoundaries,
    execute
  }
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
      display.notice(quitNotice(signal, invocation.command, held))
      io.exit(EXIT_INTERRUPTED)
    }
  })
  const context: RunContext = {
    log: display.log,
    onTransfer: display.onTransfer,
    signal: interruption.signal,
    onSecret: secret => masker.add(secret),
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

async function perform(
  invocation: Invocation,
  settings: Settings,
  context: RunContext,
  io: CliEnvironment
): Promise<Done> {
  switch (invocation.command) {
    case 'snapshot':
    case 'restore':
    case 'verify':
    case 'prune': {
      const result = await io.execute(settings, context, io.boundaries)
      if (result.mode === 'prune') {
        return { result: result.prune, text: pruneSummary(result.prune), exitCode: EXIT_OK }
      }
      return {
        result,
        text: runSummary(result),
        exitCode: reportsUntrusted(result) ? EXIT_UNTRUSTED : EXIT_OK
      }
    }
    case 'ls': {
      const listing = await list(settings, context, io.boundaries)
      return { result: listing, text: snapshotTable(listing.snapshots), exitCode: EXIT_OK }
    }
    case 'drill': {
      const options = {
        demo: invocation.switches.demo ?? false,
        destroy: invocation.switches.destroy ?? false
      }
      const report = await drill(settings, context, options, io.boundaries)
      return {
        result: report,
        text: drillSummary(report),
        exitCode: report.ok ? EXIT_OK : EXIT_UNTRUSTED
      }
    }
  }
}
