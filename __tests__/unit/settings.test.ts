import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { InvalidSettingsError } from '../../src/errors.js'
import type { InputName } from '../../src/generated/inputs.js'
import { INPUTS } from '../../src/generated/inputs.js'
import type { InputSource, Settings } from '../../src/settings.js'
import { newSnapshotId, parseDuration, readSettings } from '../../src/settings.js'

type Inputs = Partial<Record<InputName, string>>

/** Reads inputs as the action does: an input not given is ''. */
const source =
  (inputs: Inputs): InputSource =>
  name =>
    inputs[name] ?? ''

const read = (inputs: Inputs = {}): Settings => readSettings(source(inputs))

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
        keepOnFailure: false
      },
      verify: { restoreCheck: false },
      prune: {},
      secrets: []
    })
  })

  it('reads those defaults from the generated INPUTS, which match action.yml', () => {
    const action = parse(readFileSync(new URL('../../action.yml', import.meta.url), 'utf8')) as {
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
    expect(settings.store.path).toBe(INPUTS.store.default)
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

describe('validation errors', () => {
  interface Case {
    case: string
    inputs: Inputs
    message: string
  }
  const registry = { registry: '127.0.0.1:5000' }
  it.each<Case>([
    {
      case: 'unknown mode',
      inputs: { mode: 'backup' },
      message: "Invalid mode 'backup'. Expected one of: snapshot, restore, verify, prune."
    },
    {
      case: 'a hook-timeout longer than a Node.js timer can wait',
      inputs: { 'hook-timeout': '2147484' },
      message:
        "Invalid hook-timeout '2147484'. Expected at most 2147483 seconds (about 24 days), the " +
        'longest timeout Node.js can wait.'
    },
    {
      case: 'a wait-timeout longer than a Node.js timer can wait',
      inputs: { mode: 'restore', 'wait-timeout': '99999999999' },
      message:
        "Invalid wait-timeout '99999999999'. Expected at most 2147483 seconds (about 24 days), " +
        'the longest timeout Node.js can wait.'
    },
    {
      case: 'mode is case-sensitive',
      inputs: { mode: 'Snapshot' },
      message: "Invalid mode 'Snapshot'. Expected one of: snapshot, restore, verify, prune."
    },
    {
      case: 'latest for a new snapshot',
      inputs: { 'snapshot-id': 'latest' },
      message: "Invalid snapshot-id 'latest': a new snapshot needs its own id."
    },
    {
      case: 'snapshot id with a space and capitals',
      inputs: { mode: 'restore', 'snapshot-id': 'My Snapshot' },
      message:
        "Invalid snapshot-id 'My Snapshot'. Expected lowercase letters, digits, '.', '_' or '-', " +
        'starting with a letter or digit, at most 128 characters.'
    },
    {
      case: 'unknown consistency',
      inputs: { consistency: 'freeze' },
      message: "Invalid consistency 'freeze'. Expected one of: none, pause, stop."
    },
    {
      case: 'all not a boolean',
      inputs: { all: 'maybe' },
      message: "Invalid all 'maybe'. Expected true or false."
    },
    {
      case: 'commit not a boolean',
      inputs: { commit: 'on' },
      message: "Invalid commit 'on'. Expected true or false."
    },
    {
      case: 'start not a boolean',
      inputs: { start: '2' },
      message: "Invalid start '2'. Expected true or false."
    },
    {
      case: 'restore-check not a boolean',
      inputs: { 'restore-check': 'y' },
      message: "Invalid restore-check 'y'. Expected true or false."
    },
    {
      case: 'unknown bind-mounts',
      inputs: { 'bind-mounts': 'copy' },
      message: "Invalid bind-mounts 'copy'. Expected one of: record, capture."
    },
    {
      case: 'unknown compression',
      inputs: { compression: 'xz' },
      message: "Invalid compression 'xz'. Expected one of: auto, zstd, gzip."
    },
    {
      case: 'compression-level a word',
      inputs: { 'compression-level': 'high' },
      message: "Invalid compression-level 'high'. Expected a positive whole number of levels."
    },
    {
      case: 'compression-level zero',
      inputs: { 'compression-level': '0' },
      message: "Invalid compression-level '0'. Expected a positive whole number of levels."
    },
    {
      case: 'compression-level negative',
      inputs: { 'compression-level': '-1' },
      message: "Invalid compression-level '-1'. Expected a positive whole number of levels."
    },
    {
      case: 'hook-timeout with a unit',
      inputs: { 'hook-timeout': '10s' },
      message: "Invalid hook-timeout '10s'. Expected a positive whole number of seconds."
    },
    {
      case: 'hook-timeout zero',
      inputs: { 'hook-timeout': '0' },
      message: "Invalid hook-timeout '0'. Expected a positive whole number of seconds."
    },
    {
      case: 'wait-timeout a fraction',
      inputs: { 'wait-timeout': '1.5' },
      message: "Invalid wait-timeout '1.5'. Expected a positive whole number of seconds."
    },
    {
      case: 'unknown on-conflict',
      inputs: { 'on-conflict': 'overwrite' },
      message: "Invalid on-conflict 'overwrite'. Expected one of: fail, replace, skip."
    },
    {
      case: 'unknown ports',
      inputs: { ports: 'random' },
      message: "Invalid ports 'random'. Expected one of: keep, ephemeral, none."
    },
    {
      case: 'registry given as a URL',
      inputs: { registry: 'https://ghcr.io' },
      message:
        "Invalid registry 'https://ghcr.io'. Expected host or host:port, like 127.0.0.1:5000 or ghcr.io."
    },
    {
      case: 'registry with a path',
      inputs: { registry: 'ghcr.io/team' },
      message:
        "Invalid registry 'ghcr.io/team'. Expected host or host:port, like 127.0.0.1:5000 or ghcr.io."
    },
    {
      case: 'registry with a named port',
      inputs: { registry: 'localhost:http' },
      message:
        "Invalid registry 'localhost:http'. Expected host or host:port, like 127.0.0.1:5000 or ghcr.io."
    },
    {
      case: 'repository with capitals',
      inputs: { ...registry, repository: 'Team/Snapshots' },
      message:
        "Invalid repository 'Team/Snapshots'. Expected lowercase path components like team/snapshots."
    },
    {
      case: 'repository with an empty component',
      inputs: { ...registry, repository: 'team//snapshots' },
      message:
        "Invalid repository 'team//snapshots'. Expected lowercase path components like team/snapshots."
    },
    {
      case: 'repository with a tag',
      inputs: { ...registry, repository: 'team/snapshots:v1' },
      message:
        "Invalid repository 'team/snapshots:v1'. Expected lowercase path components like team/snapshots."
    },
    {
      case: 'registry-password without registry',
      inputs: { 'registry-password': 'hunter2' },
      message: 'registry-password is set but registry is empty: name the registry.'
    },
    {
      case: 'env line without =',
      inputs: { env: 'DB_PASSWORD' },
      message: 'Invalid env line 1: expected NAME=VALUE.'
    },
    {
      case: 'env line without a name',
      inputs: { env: 'A=1\n=value' },
      message: 'Invalid env line 2: expected NAME=VALUE.'
    },
    {
      case: 'env name starting with a digit',
      inputs: { env: '1PASSWORD=x' },
      message: 'Invalid env line 1: expected NAME=VALUE.'
    },
    {
      case: 'drill-container without drill-command',
      inputs: { mode: 'verify', 'drill-container': 'db' },
      message:
        'drill-container and drill-command go together: name the container and the command to run in it.'
    },
    {
      case: 'drill-command without drill-container',
      inputs: { mode: 'verify', 'drill-command': 'pg_isready' },
      message:
        'drill-container and drill-command go together: name the container and the command to run in it.'
    },
    {
      case: 'prune without keep or older-than',
      inputs: { mode: 'prune' },
      message: 'prune needs keep (a count), older-than (a duration), or both.'
    },
    {
      case: 'keep zero',
      inputs: { mode: 'prune', keep: '0' },
      message: "Invalid keep '0'. Expected a positive whole number of snapshots."
    },
    {
      case: 'older-than without a unit',
      inputs: { mode: 'prune', 'older-than': '7' },
      message: "Invalid older-than '7'. Expected a number and a unit, like 30m, 12h or 7d."
    },
    {
      case: 'older-than a word',
      inputs: { mode: 'prune', 'older-than': 'a week' },
      message: "Invalid older-than 'a week'. Expected a number and a unit, like 30m, 12h or 7d."
    },
    {
      case: 'prefix starting with a dash',
      inputs: { prefix: '-copy' },
      message:
        "Invalid prefix '-copy'. Expected letters, digits, '_', '.' or '-', starting with a letter or digit."
    },
    {
      case: 'prefix with a slash',
      inputs: { prefix: 'a/b' },
      message:
        "Invalid prefix 'a/b'. Expected letters, digits, '_', '.' or '-', starting with a letter or digit."
    },
    {
      case: 'docker-host without a scheme',
      inputs: { 'docker-host': 'localhost:2375' },
      message:
        "Invalid docker-host 'localhost:2375': the scheme 'localhost' is not supported. Expected unix:///path/to/docker.sock, tcp://host:port or ssh://user@host[:port]."
    },
    {
      case: 'docker-host over http',
      inputs: { 'docker-host': 'http://127.0.0.1:2375' },
      message:
        "Invalid docker-host 'http://127.0.0.1:2375': the scheme 'http' is not supported. Expected unix:///path/to/docker.sock, tcp://host:port or ssh://user@host[:port]."
    },
    {
      case: 'docker-host unix with two slashes',
      inputs: { 'docker-host': 'unix://var/run/docker.sock' },
      message:
        "Invalid docker-host 'unix://var/run/docker.sock': the socket path must be absolute. Expected unix:///path/to/docker.sock, tcp://host:port or ssh://user@host[:port]."
    },
    {
      case: 'docker-host ssh with a password, which is never echoed',
      inputs: { 'docker-host': 'ssh://root:hunter2@10.0.0.5' },
      message:
        "Invalid docker-host 'ssh://root:***@10.0.0.5': a password in the address is not supported; use an ssh key. Expected unix:///path/to/docker.sock, tcp://host:port or ssh://user@host[:port]."
    },
    {
      case: 'docker-host tcp with a path',
      inputs: { 'docker-host': 'tcp://10.0.0.5:2376/v1' },
      message:
        "Invalid docker-host 'tcp://10.0.0.5:2376/v1': a path after the host. Expected unix:///path/to/docker.sock, tcp://host:port or ssh://user@host[:port]."
    },
    {
      case: 'unknown store scheme',
      inputs: { store: 'gcs:bucket/snapshots' },
      message: "Unknown store 'gcs:bucket/snapshots'. Expected a directory path, or dir:PATH."
    },
    {
      case: 'store given as a URL',
      inputs: { store: 'https://example.com/snapshots' },
      message:
        "Unknown store 'https://example.com/snapshots'. Expected a directory path, or dir:PATH."
    },
    {
      case: 'dir: with an empty path',
      inputs: { store: 'dir:' },
      message: 'Invalid store: the directory path is empty.'
    },
    {
      case: 'dir: with a blank path',
      inputs: { store: 'dir:   ' },
      message: 'Invalid store: the directory path is empty.'
    }
  ])('$case', ({ inputs, message }) => {
    expect(errorOf(inputs).message).toBe(message)
  })

  it('rejects a store scheme with digits, like s3:bucket', () => {
    expect(errorOf({ store: 's3:bucket' }).message).toBe(
      "Unknown store 's3:bucket'. Expected a directory path, or dir:PATH."
    )
    expect(errorOf({ store: 'gs:bucket' }).message).toBe(
      "Unknown store 'gs:bucket'. Expected a directory path, or dir:PATH."
    )
  })

  it('names the line of a bad env entry counting blank lines and repeated names', () => {
    expect(errorOf({ env: 'A=1\n\nA=2\nbad' }).message).toBe(
      'Invalid env line 4: expected NAME=VALUE.'
    )
    expect(errorOf({ env: 'A=1\nB=2\nbad' }).message).toBe(
      'Invalid env line 3: expected NAME=VALUE.'
    )
  })
})

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
