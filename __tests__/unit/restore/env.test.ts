import { describe, expect, it } from 'vitest'
import { InvalidSettingsError } from '../../../src/shared/errors.js'
import { envName, missingEnvError, resolveRedactedEnv } from '../../../src/restore/env.js'

describe('resolveRedactedEnv', () => {
  const record = (env: string[] | undefined, redactedEnv: string[]) => ({
    redactedEnv,
    create: { Env: env, HostConfig: {} }
  })

  interface Case {
    case: string
    record: ReturnType<typeof record>
    image: string[] | undefined
    supplied: Record<string, string>
    expected: ReturnType<typeof resolveRedactedEnv>
  }
  it.each<Case>([
    {
      case: 'nothing redacted: Env as recorded',
      record: record(['A=1', 'B=2'], []),
      image: [],
      supplied: { DB_PASSWORD: 'x' },
      expected: { env: ['A=1', 'B=2'], fromImage: [], supplied: [], missing: [] }
    },
    {
      case: 'a source image sets it: left out, the engine adds the image value',
      record: record(['A=1'], ['DB_PASSWORD']),
      image: ['PATH=/bin', 'DB_PASSWORD=from-image'],
      supplied: {},
      expected: { env: ['A=1'], fromImage: ['DB_PASSWORD'], supplied: [], missing: [] }
    },
    {
      case: "the container's commit sets it: its value in the commit's order",
      record: record(['DB_MODE=primary', 'PATH=/bin'], ['DB_PASSWORD']),
      image: ['DB_MODE=primary', 'DB_PASSWORD=from-commit', 'PATH=/bin'],
      supplied: {},
      expected: {
        env: ['DB_MODE=primary', 'DB_PASSWORD=from-commit', 'PATH=/bin'],
        fromImage: ['DB_PASSWORD'],
        supplied: [],
        missing: []
      }
    },
    {
      case: "the commit's order with a supplied value in its place and recorded values kept",
      record: record(['B=recorded', 'A=1'], ['TOKEN', 'KEY']),
      image: ['KEY=k', 'A=1', 'TOKEN=old', 'B=old', 'EXTRA=x'],
      supplied: { TOKEN: 'new' },
      expected: {
        env: ['KEY=k', 'A=1', 'TOKEN=new', 'B=recorded'],
        fromImage: ['KEY'],
        supplied: ['TOKEN'],
        missing: []
      }
    },
    {
      case: 'supplied: appended',
      record: record(['A=1'], ['API_TOKEN']),
      image: ['PATH=/bin'],
      supplied: { API_TOKEN: 's3cr=t' },
      expected: {
        env: ['A=1', 'API_TOKEN=s3cr=t'],
        fromImage: [],
        supplied: ['API_TOKEN'],
        missing: []
      }
    },
    {
      case: 'supplied wins over the image',
      record: record([], ['API_TOKEN']),
      image: ['API_TOKEN=old'],
      supplied: { API_TOKEN: 'new' },
      expected: { env: ['API_TOKEN=new'], fromImage: [], supplied: ['API_TOKEN'], missing: [] }
    },
    {
      case: 'an empty supplied value counts',
      record: record([], ['SECRET']),
      image: [],
      supplied: { SECRET: '' },
      expected: { env: ['SECRET='], fromImage: [], supplied: ['SECRET'], missing: [] }
    },
    {
      case: 'nowhere: missing',
      record: record(['A=1'], ['DB_PASSWORD', 'API_KEY']),
      image: undefined,
      supplied: {},
      expected: { env: ['A=1'], fromImage: [], supplied: [], missing: ['DB_PASSWORD', 'API_KEY'] }
    },
    {
      case: 'a redacted entry left in Env (bare or with a value) is dropped',
      record: record(['A=1', 'TOKEN', 'PASSWORD=x'], ['TOKEN', 'PASSWORD']),
      image: ['TOKEN=t', 'PASSWORD=p'],
      supplied: {},
      expected: { env: ['A=1'], fromImage: ['TOKEN', 'PASSWORD'], supplied: [], missing: [] }
    },
    {
      case: 'a prototype name is not a supplied value',
      record: record([], ['constructor']),
      image: [],
      supplied: {},
      expected: { env: [], fromImage: [], supplied: [], missing: ['constructor'] }
    }
  ])('$case', ({ record: given, image, supplied, expected }) => {
    expect(resolveRedactedEnv(given, image, supplied)).toEqual(expected)
  })
})

describe('envName', () => {
  it.each([
    ['A=1', 'A'],
    ['A==1', 'A'],
    ['A', 'A'],
    ['A=', 'A']
  ])('%s', (entry, name) => expect(envName(entry)).toBe(name))
})

describe('missingEnvError', () => {
  it('names every variable, its container and image, and how to supply it, never a value', () => {
    const error = missingEnvError([
      { container: 'db', image: 'commits:db', variable: 'POSTGRES_PASSWORD' },
      { container: 'web', image: 'commits:web', variable: 'POSTGRES_PASSWORD' },
      { container: 'web', image: 'commits:web', variable: 'API_TOKEN' }
    ])
    expect(error).toBeInstanceOf(InvalidSettingsError)
    expect(error.message).toContain(
      'POSTGRES_PASSWORD of container db (its name looks secret; image commits:db does not set it)'
    )
    expect(error.message).toContain('API_TOKEN of container web')
    expect(error.message).toContain('env setting (POSTGRES_PASSWORD=<value>, API_TOKEN=<value>)')
  })

  it('says it was the value that looked secret when the name does not', () => {
    const error = missingEnvError([{ container: 'app', image: 'commits:app', variable: 'DB_URL' }])
    expect(error.message).toContain(
      'DB_URL of container app (its value holds a URL with a password; image commits:app does ' +
        'not set it)'
    )
    expect(error.message).not.toMatch(/names? looks? secret/)
  })
})
