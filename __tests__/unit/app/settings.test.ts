import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { parse } from 'yaml'
import { InvalidSettingsError } from '../../../src/shared/errors.js'
import type { InputName } from '../../../src/app/inputs.js'
import { INPUTS } from '../../../src/app/inputs.js'
import type { InputSource, Settings } from '../../../src/app/settings.js'
import { parseDuration } from '../../../src/app/input-values.js'
import { newSnapshotId, readSettings } from '../../../src/app/settings.js'

type Inputs = Partial<Record<InputName, string>>

/** Reads inputs as the action does: an input not given is ''. */
const source =
  (inputs: Inputs): InputSource =>
  name =>
    inputs[name] ?? ''

const read = (inputs: Inputs = {}): Settings => readSettings(source(inputs))

// the store's default depends on it: these tests read the default outside GitHub Actions
beforeEach(() => void vi.stubEnv('GITHUB_ACTIONS', 'false'))
afterEach(() => void vi.unstubAllEnvs())

/** The error readSettings throws for these inputs; fails the test when it throws none. */
function errorOf(inputs: Inputs): InvalidSettingsError {
  try {
    read(inputs)
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidSettingsError)
    expect((error as Error).name).toBe('InvalidSettingsError')
    return error as InvalidSettingsError
  }
  throw new Error(`readSettings accepted ${JSON.stringify(inputs)}`)
}

describe('readSettings defaults', () => {
  it('takes every default from action.yml when no input is given', () => {
    const settings = read()
    expect(settings).toEqual({
      mode: 'snapshot',
      store: { kind: 'directory', path: '.docker-snapshots' },
      encryption: { recipients: [], identities: [] },
      snapshotId: expect.stringMatching(/^\d{8}-\d{6}-[0-9a-f]{4}$/),
      snapshot: {
        containers: [],
        labels: [],
        all: false,
        volumes: [],
        excludeVolumes: [],
        consistency: 'pause',
        commit: true,
        keepImages: false,
        captureBindMounts: false,
        compression: 'auto',
        copyMethod: 'auto',
        hookTimeoutMs: 60_000,
        replaceExisting: false
      },
      restore: {
        onConflict: 'fail',
        prefix: '',
        start: true,
        waitTimeoutMs: 120_000,
        ports: 'keep',
        env: {},
        keepOnFailure: false,
        copyMethod: 'auto'
      },
      verify: { restoreCheck: false },
      prune: {},
      secrets: []
    })
  })

  it('reads those defaults from the generated INPUTS, which match action.yml', () => {
    const action = parse(readFileSync(new URL('../../../action.yml', import.meta.url), 'utf8')) as {
      inputs: Record<string, { default: string }>
    }
    const fromYaml = Object.fromEntries(
      Object.entries(action.inputs).map(([name, input]) => [name, input.default])
    )
    const generated = Object.fromEntries(
      Object.entries(INPUTS).map(([name, input]) => [name, input.default])
    )
    expect(generated).toEqual(fromYaml)
    const settings = read()
    expect(settings.store).toEqual({ kind: 'directory', path: '.docker-snapshots' })
    expect(settings.snapshot.consistency).toBe(INPUTS.consistency.default)
    expect(settings.snapshot.hookTimeoutMs).toBe(Number(INPUTS['hook-timeout'].default) * 1000)
    expect(settings.restore.waitTimeoutMs).toBe(Number(INPUTS['wait-timeout'].default) * 1000)
  })

  it('treats a blank input as not given', () => {
    const settings = read({ mode: '  ', consistency: ' \n', 'hook-timeout': '\t' })
    expect(settings.mode).toBe('snapshot')
    expect(settings.snapshot.consistency).toBe('pause')
    expect(settings.snapshot.hookTimeoutMs).toBe(60_000)
  })

  it('trims the values it is given', () => {
    const settings = read({ mode: ' restore ', prefix: ' copy- ', 'wait-timeout': ' 30 ' })
    expect(settings.mode).toBe('restore')
    expect(settings.restore.prefix).toBe('copy-')
    expect(settings.restore.waitTimeoutMs).toBe(30_000)
  })
})

describe('snapshot id', () => {
  it('generates a time-based id for a snapshot', () => {
    const ids = new Set([read().snapshotId, read().snapshotId, read().snapshotId])
    for (const id of ids) expect(id).toMatch(/^\d{8}-\d{6}-[0-9a-f]{4}$/)
  })

  it('builds the id from UTC time and a random suffix', () => {
    expect(newSnapshotId(new Date('2026-11-22T06:30:12.345Z'))).toMatch(
      /^20261122-063012-[0-9a-f]{4}$/
    )
  })

  it.each(['restore', 'verify'])('defaults to latest for %s', mode => {
    expect(read({ mode }).snapshotId).toBe('latest')
  })

  it.each(['restore', 'verify', 'snapshot'])('keeps an explicit id for %s', mode => {
    expect(read({ mode, 'snapshot-id': 'nightly-2026.11_22' }).snapshotId).toBe(
      'nightly-2026.11_22'
    )
  })

  it('accepts latest for restore', () => {
    expect(read({ mode: 'restore', 'snapshot-id': 'latest' }).snapshotId).toBe('latest')
  })
})

// Every message for bad values is checked, for the action and the CLI, in bad-input.test.ts.

describe('secrets', () => {
  it('collects the registry password and every non-empty env value', () => {
    const settings = read({
      registry: 'ghcr.io',
      'registry-password': 'hunter2',
      env: 'DB_PASSWORD=s3cr=et\nAPI_TOKEN=tok-123\nEMPTY='
    })
    expect(settings.secrets).toEqual(['hunter2', 's3cr=et', 'tok-123'])
  })

  it('leaves out values too short to be secrets, which masking would make a mess of', () => {
    const settings = read({
      registry: 'ghcr.io',
      'registry-password': 'pw',
      env: 'DB_URL=x\nA=abc\nTOKEN=abcd'
    })
    expect(settings.secrets).toEqual(['abcd'])
    expect(settings.registry?.password).toBe('pw')
    expect(settings.restore.env).toEqual({ DB_URL: 'x', A: 'abc', TOKEN: 'abcd' })
  })

  it('collects the passphrase and every identity, whether given or read from a key file', () => {
    const identity = 'AGE-SECRET-KEY-1VEM6DJWTXGHKHMLLMVTQ7JLRD3VDTZJSRSMA78W59LM8ZQFGHC5Q57U44P'
    const dir = mkdtempSync(join(tmpdir(), 'dst-encrypt-settings-'))
    const file = join(dir, 'key.txt')
    writeFileSync(file, `# created: today\n# public key: age1…\n${identity}\n`)
    const settings = read({
      mode: 'restore',
      'encryption-passphrase': 'correct horse battery',
      'encryption-identity': file
    })
    expect(settings.encryption).toEqual({
      passphrase: 'correct horse battery',
      recipients: [],
      identities: [identity]
    })
    expect(settings.secrets).toEqual(['correct horse battery', identity])
    rmSync(dir, { recursive: true })
  })

  it('has none when nothing secret is given', () => {
    expect(read({ registry: 'ghcr.io', 'registry-username': 'ci' }).secrets).toEqual([])
  })

  const password = 'pa55-w0rd-in-the-clear'
  const envValue = 'env-value-in-the-clear'
  it.each<{ case: string; inputs: Inputs }>([
    { case: 'env line without a name', inputs: { env: `=${envValue}` } },
    { case: 'env line with a bad name', inputs: { env: `MY VAR=${envValue}` } },
    { case: 'env line that is only a value', inputs: { env: `A=1\n${envValue}` } },
    { case: 'password without registry', inputs: { 'registry-password': password } },
    {
      case: 'a later input is bad',
      inputs: {
        registry: 'ghcr.io',
        'registry-password': password,
        env: `TOKEN=${envValue}`,
        compression: 'xz'
      }
    },
    {
      case: 'the repository is bad',
      inputs: { registry: 'ghcr.io', repository: 'Bad', 'registry-password': password }
    },
    {
      case: 'the store is bad',
      inputs: { 'registry-password': password, registry: 'ghcr.io', store: 'dir:' }
    }
  ])('keeps secrets out of the error when $case', ({ inputs }) => {
    const message = errorOf(inputs).message
    expect(message).not.toContain(password)
    expect(message).not.toContain(envValue)
  })
})

describe('parsed settings', () => {
  it('splits lists on commas and newlines and trims them', () => {
    const settings = read({
      mode: 'restore',
      containers: 'web, db\n  cache ,,\n',
      labels: 'com.example.tier=db\napp',
      volumes: ' pgdata ,redis-data',
      'exclude-volumes': 'scratch\n\n',
      'only-containers': 'db,\tweb',
      'only-volumes': 'pgdata'
    })
    expect(settings.snapshot.containers).toEqual(['web', 'db', 'cache'])
    expect(settings.snapshot.labels).toEqual(['com.example.tier=db', 'app'])
    expect(settings.snapshot.volumes).toEqual(['pgdata', 'redis-data'])
    expect(settings.snapshot.excludeVolumes).toEqual(['scratch'])
    expect(settings.restore.containers).toEqual(['db', 'web'])
    expect(settings.restore.volumes).toEqual(['pgdata'])
  })

  it('takes the longest hook-timeout a Node.js timer can wait', () => {
    expect(read({ 'hook-timeout': '2147483' }).snapshot.hookTimeoutMs).toBe(2_147_483_000)
  })

  it('reads keep-on-failure, the input the failed-restore message offers', () => {
    expect(read({ mode: 'restore', 'keep-on-failure': 'true' }).restore.keepOnFailure).toBe(true)
    expect(read({ mode: 'restore' }).restore.keepOnFailure).toBe(false)
  })

  it('leaves only-containers and only-volumes out when they are empty', () => {
    const settings = read({ mode: 'restore', 'only-containers': ' , \n' })
    expect(settings.restore).not.toHaveProperty('containers')
    expect(settings.restore).not.toHaveProperty('volumes')
  })

  it('parses env into a record, keeping = and spaces inside values', () => {
    const settings = read({
      mode: 'restore',
      env: 'DB_PASSWORD=a=b=c\n\n  API_TOKEN=tok\nGREETING=hello world\nEMPTY='
    })
    expect(settings.restore.env).toEqual({
      DB_PASSWORD: 'a=b=c',
      API_TOKEN: 'tok',
      GREETING: 'hello world',
      EMPTY: ''
    })
  })

  it.each<{ value: string; expected: boolean }>([
    { value: 'true', expected: true },
    { value: 'TRUE', expected: true },
    { value: 'Yes', expected: true },
    { value: '1', expected: true },
    { value: 'false', expected: false },
    { value: 'NO', expected: false },
    { value: '0', expected: false }
  ])('reads boolean $value as $expected', ({ value, expected }) => {
    const settings = read({ all: value, commit: value, start: value, 'restore-check': value })
    expect(settings.snapshot.all).toBe(expected)
    expect(settings.snapshot.commit).toBe(expected)
    expect(settings.restore.start).toBe(expected)
    expect(settings.verify.restoreCheck).toBe(expected)
  })

  it.each<{ store: string; path: string }>([
    { store: 'dir:/var/snapshots', path: '/var/snapshots' },
    { store: '/var/snapshots', path: '/var/snapshots' },
    { store: 'relative/snapshots', path: 'relative/snapshots' },
    { store: 'C:\\snapshots', path: 'C:\\snapshots' },
    { store: 'd:/snapshots', path: 'd:/snapshots' }
  ])('reads store $store as directory $path', ({ store, path }) => {
    expect(read({ store }).store).toEqual({ kind: 'directory', path })
  })

  it('reads a registry with credentials', () => {
    const settings = read({
      registry: '127.0.0.1:5000',
      repository: 'team/snapshots',
      'registry-username': ' ci ',
      'registry-password': 'hunter2'
    })
    expect(settings.registry).toEqual({
      address: '127.0.0.1:5000',
      repository: 'team/snapshots',
      username: 'ci',
      password: 'hunter2'
    })
  })

  it.each(['ghcr.io', 'localhost:5000', '[::1]:5000', 'registry-1.example.com'])(
    'accepts registry %s with the default repository',
    address => {
      expect(read({ registry: address }).registry).toEqual({
        address,
        repository: 'docker-snapshot'
      })
    }
  )

  it.each([
    'unix:///var/run/docker.sock',
    'tcp://127.0.0.1:2375',
    '/run/user/1000/docker.sock',
    'ssh://root@10.0.0.5',
    'ssh://deploy@build-host:2222'
  ])('accepts docker-host %s', host => {
    expect(read({ 'docker-host': host }).dockerHost).toBe(host)
  })

  it('reads snapshot options', () => {
    const settings = read({
      'compose-project': 'shop',
      consistency: 'stop',
      'bind-mounts': 'capture',
      compression: 'zstd',
      'compression-level': '19',
      'hook-timeout': '5',
      'replace-snapshot': 'true'
    })
    expect(settings.snapshot).toMatchObject({
      composeProject: 'shop',
      consistency: 'stop',
      captureBindMounts: true,
      compression: 'zstd',
      compressionLevel: 19,
      hookTimeoutMs: 5000,
      replaceExisting: true
    })
  })

  it('reads a drill, which implies restore-check', () => {
    const settings = read({
      mode: 'verify',
      'drill-container': 'db',
      'drill-command': 'pg_isready -U postgres'
    })
    expect(settings.verify).toEqual({
      restoreCheck: true,
      drill: { container: 'db', command: ['sh', '-c', 'pg_isready -U postgres'] }
    })
  })

  it.each<{ inputs: Inputs; prune: Settings['prune'] }>([
    { inputs: { keep: '3' }, prune: { keep: 3 } },
    { inputs: { 'older-than': '12h' }, prune: { olderThanMs: 12 * 3_600_000 } },
    { inputs: { keep: '5', 'older-than': '2w' }, prune: { keep: 5, olderThanMs: 14 * 86_400_000 } }
  ])('reads prune $inputs', ({ inputs, prune }) => {
    expect(read({ mode: 'prune', ...inputs }).prune).toEqual(prune)
  })
})

describe('parseDuration', () => {
  it.each<{ value: string; ms: number }>([
    { value: '90s', ms: 90_000 },
    { value: '30m', ms: 1_800_000 },
    { value: '12h', ms: 43_200_000 },
    { value: '7d', ms: 604_800_000 },
    { value: '2w', ms: 1_209_600_000 },
    { value: ' 7d ', ms: 604_800_000 },
    { value: '7 d', ms: 604_800_000 },
    { value: '001m', ms: 60_000 }
  ])('reads $value as $ms ms', ({ value, ms }) => {
    expect(parseDuration('older-than', value)).toBe(ms)
  })

  it.each(['', '7', 'd', '0d', '0s', '-1d', '1.5h', '7D', '7days', '3y', '1h30m'])(
    'rejects %j, naming the input and the form',
    value => {
      expect(() => parseDuration('older-than', value)).toThrow(
        new InvalidSettingsError(
          `Invalid older-than '${value}'. Expected a number and a unit, like 30m, 12h or 7d.`
        )
      )
    }
  )
})
