import { resolveCompression } from '../archive/index.js'
import type { DrillReport } from './drill.js'
import { runDrill } from './drill.js'
import { Engine } from '../docker/engine.js'
import { registryAuth } from '../docker/registry.js'
import type { RegistryTarget } from '../docker/registry.js'
import type { RegistryAuth } from '../docker/types.js'
import { EngineUnavailableError, describeError } from '../shared/errors.js'
import type { Logger } from '../shared/log.js'
import type { PruneResult } from './prune.js'
import { pruneSnapshots } from './prune.js'
import type { RestoreOptions, RestoreReport } from '../restore/index.js'
import type { VerifyReport } from '../verify/index.js'
import { LATEST, newestComplete, restoreSnapshot } from '../restore/index.js'
import { verifySnapshot } from '../verify/index.js'
import type { Settings } from './settings.js'
import { repairAbandoned } from '../snapshot/holds.js'
import type { QuiesceAction } from '../snapshot/quiesce.js'
import type { SnapshotReport } from '../snapshot/snapshot.js'
import { takeSnapshot } from '../snapshot/snapshot.js'
import type { ListedSnapshot } from '../stores/catalog.js'
import { listSnapshots } from '../stores/catalog.js'
import { openStore } from '../stores/index.js'
import type { SnapshotStore } from '../stores/store.js'
import type { TransferListener } from '../shared/transfer.js'
import { throttleTransfers } from '../shared/transfer.js'
import { TOOL_VERSION } from '../shared/version.js'

/** What a front end (the action, the CLI) lends a run: where to log and whom to tell what. */
export interface RunContext {
  log: Logger
  onQuiesce?: (actions: QuiesceAction[]) => void
  onTransfer?: TransferListener
  /**
   * The one way to stop a run early (Ctrl-C, a cancelled workflow: see interrupt.ts): every
   * mode stops at its next safe point once it is aborted, and undoes what it must.
   */
  signal?: AbortSignal
  /** A secret found during the run (Docker config credentials): masked from then on. */
  onSecret?: (secret: string) => void
}

/**
 * Where a run's engine, store and clock come from: the real ones by default; unit tests pass
 * fakes (the one seam for them, so that Session stays the only place that opens both).
 */
export interface RunBoundaries {
  engine: (settings: Settings, log: Logger) => Engine
  openStore: typeof openStore
  now: () => Date
}

export const realBoundaries: RunBoundaries = {
  engine: (settings, log) => new Engine({ host: settings.dockerHost, logger: log }),
  openStore,
  now: () => new Date()
}

export type { PruneResult }

/** What `ls` shows: the store and its snapshots. */
export interface Listing {
  store: string
  snapshots: ListedSnapshot[]
}

export type RunResult =
  | { mode: 'snapshot'; snapshot: SnapshotReport }
  | { mode: 'restore'; restore: RestoreReport }
  | { mode: 'verify'; verify: VerifyReport }
  | { mode: 'prune'; prune: PruneResult }

/** One run's engine, store and registry credentials, opened once from the settings. */
class Session {
  private constructor(
    readonly settings: Settings,
    readonly context: RunContext,
    readonly engine: Engine,
    readonly store: SnapshotStore,
    readonly registry: RegistryTarget | undefined,
    private readonly now: () => Date
  ) {}

  /** Opens the store for writing only to snapshot into it. */
  static async open(
    settings: Settings,
    given: RunContext,
    boundaries: RunBoundaries,
    access: 'read' | 'write'
  ): Promise<Session> {
    const context: RunContext = {
      ...given,
      onTransfer: given.onTransfer && throttleTransfers(given.onTransfer)
    }
    const engine = boundaries.engine(settings, context.log)
    // A compression that cannot work here is a bad setting: it must not create the store.
    const { compression, compressionLevel } = settings.snapshot
    const store = await boundaries.openStore(
      settings.store,
      access,
      async () => void (await resolveCompression(compression, compressionLevel)),
      { ...settings.storeCredentials, onSecret: context.onSecret }
    )
    await repairWith(engine, context.log)
    context.signal?.throwIfAborted()
    let registry: RegistryTarget | undefined
    if (settings.registry) {
      const { address, repository, username, password } = settings.registry
      const auth = await registryAuth(address, username, password)
      for (const secret of [auth.password, auth.identitytoken])
        if (secret) context.onSecret?.(secret)
      registry = { address, repository, auth }
    }
    return new Session(settings, context, engine, store, registry, boundaries.now)
  }

  private get auth(): RegistryAuth {
    return this.registry?.auth ?? {}
  }

  snapshot(snapshotId: string, composeProject?: string): Promise<SnapshotReport> {
    const { snapshot } = this.settings
    const project = composeProject ?? snapshot.composeProject
    return takeSnapshot(
      this.engine,
      this.store,
      {
        ...snapshot,
        selection: {
          containers: snapshot.containers,
          labels: snapshot.labels,
          all: snapshot.all,
          ...(project && { composeProject: project })
        },
        snapshotId,
        registry: this.registry,
        toolVersion: TOOL_VERSION,
        onQuiesce: this.context.onQuiesce,
        onTransfer: this.context.onTransfer,
        signal: this.context.signal
      },
      this.context.log
    )
  }

  restore(
    snapshotId: string,
    overrides: Partial<Settings['restore']> & Pick<RestoreOptions, 'bindMounts'> = {}
  ): Promise<RestoreReport> {
    return this.holding(snapshotId, id =>
      restoreSnapshot(
        this.engine,
        this.store,
        {
          ...this.settings.restore,
          ...overrides,
          snapshotId: id,
          registryAuth: this.auth,
          signal: this.context.signal
        },
        this.context.log
      )
    )
  }

  /** Verifies archives and images; with `restoreCheck`, also a throwaway restore and drill. */
  verify(snapshotId: string, restoreCheck = true): Promise<VerifyReport> {
    const { verify, restore } = this.settings
    return this.holding(snapshotId, id =>
      verifySnapshot(
        this.engine,
        this.store,
        {
          snapshotId: id,
          registryAuth: this.auth,
          restoreCheck: restoreCheck && verify.restoreCheck,
          waitTimeoutMs: restore.waitTimeoutMs,
          env: restore.env,
          signal: this.context.signal,
          ...(restoreCheck && verify.drill && { drill: verify.drill })
        },
        this.context.log
      )
    )
  }

  /**
   * Runs `read` on the snapshot `snapshotId` names (`latest` resolved first), holding it so that
   * a prune of the same store leaves it alone meanwhile. With no complete snapshot for `latest`,
   * `read` gets `latest` itself, to report that as it does.
   */
  private async holding<T>(snapshotId: string, read: (id: string) => Promise<T>): Promise<T> {
    const id = snapshotId === LATEST ? ((await newestComplete(this.store)) ?? LATEST) : snapshotId
    if (id === LATEST) return read(id)
    const hold = await this.store.hold(id)
    try {
      return await read(id)
    } finally {
      await hold.release()
    }
  }

  prune(): Promise<PruneResult> {
    const { settings, context } = this
    return pruneSnapshots(
      this.store,
      { ...settings.prune, now: this.now(), signal: context.signal },
      context.log
    )
  }

  async list(): Promise<Listing> {
    if (this.store.listLimit) this.context.log.warn(this.store.listLimit)
    const snapshots = await listSnapshots(this.store)
    if (snapshots.length === 0) this.context.log.info(`no snapshots in ${this.store.description}`)
    return { store: this.store.description, snapshots }
  }
}

/**
 * Brings back what killed runs on this host left on the engine (see holds.ts): every command does
 * this first. It never fails the command: without an engine there is nothing to repair, and any
 * other failure is a warning.
 */
async function repairWith(engine: Engine, log: Logger): Promise<void> {
  try {
    await repairAbandoned(engine, log)
  } catch (error) {
    if (error instanceof EngineUnavailableError) return
    log.warn(`could not look for what killed docker-snapshot runs left: ${describeError(error)}`)
  }
}

/** Carries out one run of any mode: the same for a workflow step and a terminal. */
export async function execute(
  settings: Settings,
  context: RunContext,
  boundaries: RunBoundaries = realBoundaries
): Promise<RunResult> {
  const access = settings.mode === 'snapshot' ? 'write' : 'read'
  const session = await Session.open(settings, context, boundaries, access)
  switch (settings.mode) {
    case 'snapshot':
      return { mode: 'snapshot', snapshot: await session.snapshot(settings.snapshotId) }
    case 'restore':
      return { mode: 'restore', restore: await session.restore(settings.snapshotId) }
    case 'verify':
      return { mode: 'verify', verify: await session.verify(settings.snapshotId) }
    case 'prune':
      return { mode: 'prune', prune: await session.prune() }
  }
}

/** Lists the snapshots in the store, as every run opens it (`ls`). */
export async function list(
  settings: Settings,
  context: RunContext,
  boundaries: RunBoundaries = realBoundaries
): Promise<Listing> {
  const session = await Session.open(settings, context, boundaries, 'read')
  return session.list()
}

/** The drill: snapshot, verify, destroy (or not), restore and compare, with these settings. */
export async function drill(
  settings: Settings,
  context: RunContext,
  options: { demo: boolean; destroy: boolean },
  boundaries: RunBoundaries = realBoundaries
): Promise<DrillReport> {
  const session = await Session.open(settings, context, boundaries, 'write')
  const { drill: question } = settings.verify
  return runDrill(
    session.engine,
    {
      ...options,
      composeProject: settings.snapshot.composeProject,
      signal: context.signal,
      checks: question
        ? [{ service: question.container, command: question.command, description: 'drill command' }]
        : [],
      snapshot: project => session.snapshot(settings.snapshotId, project),
      // The drill restores and asks its questions itself: its verify checks the bytes only.
      verify: snapshotId => session.verify(snapshotId, false),
      restore: (snapshotId, prefix) =>
        session.restore(snapshotId, {
          prefix,
          onConflict: 'fail',
          ports: prefix ? 'ephemeral' : settings.restore.ports,
          // A copy beside the original never writes to the original's bind-mounted files.
          bindMounts: prefix ? 'isolate' : 'host'
        })
    },
    context.log
  )
}
