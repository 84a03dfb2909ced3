import { describe, expect, it } from 'vitest'
import { UsageError } from '../../../src/cli/args.js'
import {
  EXIT_CODE_TABLE,
  EXIT_FAILED,
  EXIT_INTERRUPTED,
  EXIT_OK,
  EXIT_UNTRUSTED,
  EXIT_USAGE,
  exitCodeFor
} from '../../../src/cli/exit-codes.js'
import { InterruptedError } from '../../../src/shared/errors.js'
import {
  ArchiveIntegrityError,
  ConflictError,
  EngineError,
  EngineUnavailableError,
  HealthError,
  HookError,
  InvalidSettingsError,
  ManifestError,
  NotFoundError,
  RegistryError,
  StoreError
} from '../../../src/shared/errors.js'

describe('exitCodeFor', () => {
  it.each([
    [new InvalidSettingsError('bad'), EXIT_USAGE],
    [new UsageError('bad flag'), EXIT_USAGE],
    [new ArchiveIntegrityError('bad bytes'), EXIT_UNTRUSTED],
    [new ManifestError('modified'), EXIT_UNTRUSTED],
    [new InterruptedError('interrupted'), EXIT_INTERRUPTED],
    [new EngineUnavailableError('no engine'), EXIT_FAILED],
    [new EngineError('refused'), EXIT_FAILED],
    [new NotFoundError('missing'), EXIT_FAILED],
    [new RegistryError('denied'), EXIT_FAILED],
    [new StoreError('full'), EXIT_FAILED],
    [new ConflictError('exists'), EXIT_FAILED],
    [new HookError('hook failed'), EXIT_FAILED],
    [new HealthError('unhealthy'), EXIT_FAILED],
    [new Error('plain'), EXIT_FAILED],
    ['a string', EXIT_FAILED],
    [undefined, EXIT_FAILED]
  ])('%s -> %i', (error, code) => {
    expect(exitCodeFor(error)).toBe(code)
  })

  it('tells errors apart by name, as a second copy of a class in a bundle would be', () => {
    const twin = new Error('checksum mismatch')
    twin.name = 'ArchiveIntegrityError'
    expect(exitCodeFor(twin)).toBe(EXIT_UNTRUSTED)
    const inherited = new Error('x')
    inherited.name = 'toString'
    expect(exitCodeFor(inherited)).toBe(EXIT_FAILED)
  })

  it('documents every code once', () => {
    expect(EXIT_CODE_TABLE.map(entry => entry.code)).toEqual([
      EXIT_OK,
      EXIT_FAILED,
      EXIT_USAGE,
      EXIT_UNTRUSTED,
      EXIT_INTERRUPTED
    ])
  })
})
