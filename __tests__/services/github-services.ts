import { randomBytes } from 'node:crypto'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import type { Socket } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll } from 'vitest'
import { startAzurite, type Azurite } from './azurite.js'
import { startResultsService, type ResultsService } from './results-service.js'

/**
 * GitHub's artifact and cache services as a workflow job sees them, on loopback: Azurite for
 * the blobs and the results-service stand-in in front of it. Start one per test file
 * (`gitHubServicesForFile` below), then run code as a job of run N with
 * `inEnv(github.runEnv(N), body)` (or pass the env to a child process). `@actions/github` fixes GITHUB_API_URL when it is first imported, so import
 * `@actions/artifact` (or code that imports it) only after the env is set: `await import(...)`.
 */
export interface GitHubServices {
  /** `owner/name` of the repository the runs belong to. */
  readonly repository: string
  /** The token the REST calls accept: `findBy.token`, the action's `github-token`. */
  readonly token: string
  readonly service: ResultsService
  readonly azurite: Azurite
  /**
   * The environment the runner gives a job of the run `GITHUB_RUN_ID = runId`, a run of workflow
   * `workflowId` (1 unless given; the first call for a run registers it).
   */
  runEnv(runId: number, workflowId?: number): Record<string, string>
  stop(): Promise<void>
}

export async function startGitHubServices(): Promise<GitHubServices> {
  const root = await mkdtemp(join(tmpdir(), 'dst-github-'))
  let azurite: Azurite | undefined
  try {
    await mkdir(join(root, 'azurite'))
    azurite = await startAzurite(join(root, 'azurite'))
    const repository = `octo-org/snapshots-${randomBytes(3).toString('hex')}`
    const token = `ghs_${randomBytes(18).toString('hex')}`
    const service = await startResultsService({ azurite, repository, token })
    const started = azurite
    return {
      repository,
      token,
      service,
      azurite,
      runEnv(runId, workflowId) {
        const { workflowRunBackendId, workflowJobRunBackendId } = service.run(runId, workflowId)
        const job = join(root, `run-${runId}`)
        return {
          ACTIONS_RUNTIME_TOKEN: runtimeToken(workflowRunBackendId, workflowJobRunBackendId),
          ACTIONS_RESULTS_URL: `${service.url}/`,
          ACTIONS_CACHE_URL: `${service.url}/`,
          ACTIONS_CACHE_SERVICE_V2: 'True',
          GITHUB_API_URL: service.url,
          GITHUB_GRAPHQL_URL: `${service.url}/graphql`,
          // only tells the clients this is not GitHub Enterprise Server; never contacted
          GITHUB_SERVER_URL: 'http://github.localhost',
          GITHUB_ACTIONS: 'true',
          GITHUB_REPOSITORY: repository,
          GITHUB_REPOSITORY_OWNER: repository.split('/')[0]!,
          GITHUB_RUN_ID: String(runId),
          GITHUB_RUN_ATTEMPT: '1',
          GITHUB_WORKSPACE: join(job, 'workspace'),
          RUNNER_TEMP: join(job, 'temp'),
          NO_PROXY: '127.0.0.1,localhost',
          no_proxy: '127.0.0.1,localhost'
        }
      },
      async stop() {
        await service.stop()
        await started.stop()
        await rm(root, { recursive: true, force: true })
      }
    }
  } catch (error) {
    await azurite?.stop()
    await rm(root, { recursive: true, force: true })
    throw error
  }
}

/**
 * One pair of services for a test file: started before the file's tests with the process in the job environment `firstEnv` gives (the file's own
 * beforeAll runs after, so it may import the clients), every connection recorded from now on,
 * and all stopped and the environment put back after the tests. `github` answers once started.
 */
export function gitHubServicesForFile(
  firstEnv: (github: GitHubServices) => Record<string, string>
): { readonly github: GitHubServices; readonly connections: { destinations: string[] } } {
  const connections = recordConnections()
  let started: GitHubServices | undefined
  let backToStart: (() => void) | undefined
  beforeAll(async () => {
    started = await startGitHubServices()
    backToStart = await withEnv(firstEnv(started))
  })
  afterAll(async () => {
    connections.stop()
    backToStart?.()
    await started?.stop()
  })
  return {
    get github() {
      if (!started) throw new Error('the GitHub services are not started yet')
      return started
    },
    connections
  }
}

/** Runs `body` with `env` set, then puts back the environment before. */
export async function inEnv<T>(env: Record<string, string>, body: () => Promise<T>): Promise<T> {
  const back = await withEnv(env)
  try {
    return await body()
  } finally {
    back()
  }
}

/**
 * Sets `env` in this process and returns a function that puts back what was there before.
 * Creates the job's GITHUB_WORKSPACE and RUNNER_TEMP directories.
 */
export async function withEnv(env: Record<string, string>): Promise<() => void> {
  for (const dir of [env.GITHUB_WORKSPACE, env.RUNNER_TEMP]) {
    if (dir) await mkdir(dir, { recursive: true })
  }
  const before = Object.fromEntries(Object.keys(env).map(name => [name, process.env[name]]))
  Object.assign(process.env, env)
  return () => {
    for (const [name, value] of Object.entries(before)) {
      if (value === undefined) Reflect.deleteProperty(process.env, name)
      else process.env[name] = value
    }
  }
}

/** A JWT of the runner's shape; the clients read only its `scp` claim, nobody checks the signature. */
function runtimeToken(workflowRunBackendId: string, workflowJobRunBackendId: string): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const now = Math.floor(Date.now() / 1000)
  const claims = {
    scp: `Actions.GenericRead:00000000-0000-0000-0000-000000000000 Actions.Results:${workflowRunBackendId}:${workflowJobRunBackendId}`,
    iat: now,
    exp: now + 6 * 3600
  }
  return `${part({ typ: 'JWT', alg: 'RS256' })}.${part(claims)}.${randomBytes(32).toString('base64url')}`
}

/**
 * Records where every TCP connection this process opens goes (the host names it looks up and
 * the addresses it connects to), so a test can check that nothing left the machine.
 */
export function recordConnections(): { destinations: string[]; stop(): void } {
  const destinations: string[] = []
  const onSocket = (message: unknown) => {
    const { socket } = message as { socket: Socket }
    socket.once('lookup', (_error: Error | null, _address: string, _family: number, host: string) =>
      destinations.push(host)
    )
    socket.once('connect', () => destinations.push(socket.remoteAddress ?? 'unknown'))
  }
  subscribe('net.client.socket', onSocket)
  return { destinations, stop: () => unsubscribe('net.client.socket', onSocket) }
}
