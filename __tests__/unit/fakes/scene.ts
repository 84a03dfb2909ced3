/**
 * A small compose project on the fake engine, for tests of whole runs: `shop-db` and `shop-web`
 * (project `shop`), each with a named volume holding files, both on network `shop-net`.
 */
import type { RestoreOptions } from '../../../src/restore/index.js'
import { silentLogger } from '../../../src/shared/log.js'
import { takeSnapshot, type SnapshotOptions } from '../../../src/snapshot/snapshot.js'
import { FakeEngine } from './engine.js'
import { FakeStore } from './store.js'

export const PROJECT = 'shop'

export function shopScene() {
  const fake = new FakeEngine()
  const store = new FakeStore()
  fake.addVolume('shop-pgdata', [
    { name: 'base', type: 'directory' },
    { name: 'base/rows', content: '1\n2\n3\n' }
  ])
  fake.addVolume('shop-html', [{ name: 'index.html', content: '<h1>shop</h1>' }])
  for (const service of ['db', 'web']) {
    fake.addContainer({
      name: `${PROJECT}-${service}`,
      labels: {
        'com.docker.compose.project': PROJECT,
        'com.docker.compose.service': service
      },
      volumes: [
        service === 'db'
          ? { name: 'shop-pgdata', destination: '/var/lib/postgresql/data' }
          : { name: 'shop-html', destination: '/usr/share/html' }
      ],
      networks: ['shop-net'],
      env: ['PATH=/bin', ...(service === 'db' ? ['POSTGRES_PASSWORD=hunter2'] : [])]
    })
  }
  return { fake, store }
}

/** The shop scene with its snapshot snap-1 taken (shopSnapshot's options) into the store. */
export async function snapshottedShop() {
  const { fake, store } = shopScene()
  await takeSnapshot(fake.engine, store, shopSnapshot(), silentLogger)
  return { fake, store }
}

/** Snapshot options for the shop project; gzip, so that no zstd is needed. */
export function shopSnapshot(overrides: Partial<SnapshotOptions> = {}): SnapshotOptions {
  return {
    snapshotId: 'snap-1',
    selection: { containers: [], composeProject: PROJECT, labels: [], all: false },
    volumes: [],
    excludeVolumes: [],
    consistency: 'pause',
    commit: true,
    captureBindMounts: false,
    compression: 'gzip',
    hookTimeoutMs: 5000,
    replaceExisting: false,
    toolVersion: '0.0.0-test',
    ...overrides
  }
}

/** Restore options for snap-1: beside the originals (prefix `copy-`), failing on a taken name. */
export function restoreOptions(overrides: Partial<RestoreOptions> = {}): RestoreOptions {
  return {
    snapshotId: 'snap-1',
    onConflict: 'fail',
    prefix: 'copy-',
    start: true,
    waitTimeoutMs: 2000,
    ports: 'none',
    registryAuth: {},
    env: {},
    ...overrides
  }
}

/** What a user would look at: every name, id and state, every volume's contents and labels. */
export async function lookAround(fake: FakeEngine) {
  const { containers, volumes, networks } = fake.names
  const contents: Record<string, Record<string, string>> = {}
  const labels: Record<string, unknown> = {}
  for (const volume of volumes) {
    contents[volume] = Object.fromEntries(await fake.volumeFiles(volume))
    labels[volume] = (await fake.engine.inspectVolume(volume)).Labels
  }
  const ids = Object.fromEntries(containers.map(name => [name, fake.container(name).Id]))
  const attached = Object.fromEntries(
    containers.map(name => [name, Object.keys(fake.container(name).NetworkSettings.Networks)])
  )
  return { containers, ids, attached, volumes, networks, states: fake.states(), contents, labels }
}
