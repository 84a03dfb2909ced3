import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Engine } from '../../src/docker/engine.js'
import { InvalidSettingsError } from '../../src/shared/errors.js'
import { silentLogger } from '../../src/shared/log.js'
import type { Consistency } from '../../src/manifest/manifest.js'
import { restoreSnapshot } from '../../src/restore/index.js'
import type { RestoreOptions } from '../../src/restore/index.js'
import { takeSnapshot } from '../../src/snapshot/snapshot.js'
import { DirectoryStore } from '../../src/stores/directory/store.js'
import { POSTGRES, docker, removeByPrefix, uniquePrefix } from './support.js'

const engine = new Engine()
const prefix = uniquePrefix('restore-pg')
let storeDir: string

beforeAll(async () => {
  storeDir = await mkdtemp(join(tmpdir(), 'dst-restore-pg-'))
})

afterAll(async () => {
  await removeByPrefix(prefix)
  await rm(storeDir, { recursive: true, force: true })
})

function psql(container: string, sql: string): Promise<string> {
  return docker(
    'exec',
    container,
    'psql',
    '-X',
    '-q',
    '-At',
    '-v',
    'ON_ERROR_STOP=1',
    '-U',
    'postgres',
    '-c',
    sql
  )
}

/** What a user would compare: the row count and a checksum of every row in order. */
function tableFacts(container: string): Promise<string> {
  return psql(
    container,
    "SELECT count(*) || ' ' || md5(string_agg(id || ':' || item || ':' || qty, ',' ORDER BY id)) FROM orders"
  )
}

async function startPostgres(name: string, volume: string): Promise<void> {
  await docker('volume', 'create', volume)
  await docker(
    'run',
    '-d',
    '--name',
    name,
    '-e',
    'POSTGRES_PASSWORD=pg-secret',
    '-v',
    `${volume}:/var/lib/postgresql/data`,
    POSTGRES
  )
  await engine.waitHealthy(name, 120_000)
}

describe.each<[Consistency, boolean]>([
  ['stop', false],
  ['pause', true]
])('PostgreSQL snapshot with consistency %s', (consistency, recoveryAllowed) => {
  it('comes back healthy with the same rows after its container and volume are destroyed', async () => {
    const name = `${prefix}${consistency}-db`
    const volume = `${prefix}${consistency}-pgdata`
    const snapshotId = `${prefix}${consistency}`
    await startPostgres(name, volume)
    await psql(
      name,
      'CREATE TABLE orders (id serial PRIMARY KEY, item text, qty int); ' +
        "INSERT INTO orders (item, qty) SELECT 'item-' || g, g % 13 FROM generate_series(1, 20000) g"
    )
    // Rows still being written just before the snapshot, not yet checkpointed.
    await psql(
      name,
      "UPDATE orders SET qty = qty + 1 WHERE id % 7 = 0; INSERT INTO orders (item, qty) VALUES ('last', 1)"
    )
    const before = await tableFacts(name)
    expect(before).toMatch(/^20001 [0-9a-f]{32}$/)

    const store = new DirectoryStore(storeDir)
    await takeSnapshot(
      engine,
      store,
      {
        snapshotId,
        selection: { containers: [name], labels: [], all: false },
        volumes: [],
        excludeVolumes: [],
        consistency,
        commit: false,
        captureBindMounts: false,
        compression: 'auto',
        hookTimeoutMs: 30_000,
        replaceExisting: false,
        toolVersion: 'test'
      },
      silentLogger
    )
    await docker('rm', '-f', name)
    await docker('volume', 'rm', volume)

    const options: RestoreOptions = {
      snapshotId,
      onConflict: 'fail',
      prefix: '',
      start: true,
      waitTimeoutMs: 120_000,
      ports: 'keep',
      registryAuth: {},
      env: {}
    }
    // The password was left out of the snapshot and the source image does not set it.
    await expect(restoreSnapshot(engine, store, options, silentLogger)).rejects.toThrow(
      InvalidSettingsError
    )
    expect(await docker('ps', '-aq', '--filter', `name=^/${name}$`)).toBe('')

    const report = await restoreSnapshot(
      engine,
      store,
      { ...options, env: { POSTGRES_PASSWORD: 'pg-secret' } },
      silentLogger
    )
    expect(report.containers.map(c => [c.target, c.state])).toEqual([[name, 'healthy']])
    expect(await tableFacts(name)).toBe(before)
    // The password works over TCP, as before.
    expect(
      await docker(
        'exec',
        '-e',
        'PGPASSWORD=pg-secret',
        name,
        'psql',
        '-X',
        '-At',
        '-h',
        '127.0.0.1',
        '-U',
        'postgres',
        '-c',
        'SELECT 1'
      )
    ).toBe('1')

    const { stdout, stderr } = await logsOf(name)
    const serverLog = `${stdout}\n${stderr}`
    expect(serverLog).toContain('database system is ready to accept connections')
    expect(serverLog).not.toMatch(/PANIC|FATAL:.*(corrupt|invalid)/)
    // Paused, not stopped, the files are those of a crash: recovery on start is expected, and
    // the data above proves it worked. Stopped, the shutdown was clean: no recovery at all.
    if (!recoveryAllowed) {
      expect(serverLog).not.toMatch(
        /database system was not properly shut down|automatic recovery in progress/
      )
      expect(serverLog).toMatch(/database system was shut down at/)
    }
  })
})

/** `docker logs` keeps the two streams apart; postgres writes its log to stderr. */
function logsOf(name: string): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile('docker', ['logs', name], { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(error)
      else resolve({ stdout, stderr })
    })
  })
}
