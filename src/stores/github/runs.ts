/**
 * The two REST calls the artifact client lacks: the workflow of a run, and that workflow's runs,
 * newest first. Everything else goes through `@actions/artifact`.
 */
import { StoreError } from '../../shared/errors.js'

/** How many of a workflow's runs `latest` and listing look through (one page). */
export const RUNS_LOOKED_AT = 50

export interface RestTarget {
  /** GITHUB_API_URL, `https://api.github.com` by default. */
  apiUrl: string
  /** `owner/name` */
  repository: string
  token: string
}

/** A call to the REST API; a refusal becomes a StoreError saying what to do. */
async function call(target: RestTarget, path: string, what: string): Promise<unknown> {
  const url = `${target.apiUrl.replace(/\/$/, '')}/repos/${target.repository}${path}`
  let response: Response
  try {
    response = await fetch(url, {
      headers: {
        accept: 'application/vnd.github+json',
        authorization: `Bearer ${target.token}`,
        'x-github-api-version': '2022-11-28'
      }
    })
  } catch (error) {
    throw new StoreError(
      `cannot reach the GitHub API at ${target.apiUrl} to ${what}: ${(error as Error).message}`,
      { cause: error }
    )
  }
  if (response.status === 401) {
    throw new StoreError(
      `the GitHub API refused github-token (401 Bad credentials) to ${what}: give a valid ` +
        `token with actions: read on ${target.repository}, e.g. github-token: \${{ github.token }}`
    )
  }
  if (response.status === 403 || response.status === 404) {
    throw new StoreError(
      `the GitHub API answered ${response.status} to ${what} in ${target.repository}: check ` +
        'run-id and run-repository, and that github-token may read actions there'
    )
  }
  if (!response.ok) {
    throw new StoreError(`the GitHub API answered ${response.status} to ${what}; try again later`)
  }
  return response.json()
}

/** The ids of the runs of `runId`'s workflow, newest first (at most RUNS_LOOKED_AT). */
export async function workflowRuns(target: RestTarget, runId: number): Promise<number[]> {
  const run = (await call(target, `/actions/runs/${runId}`, `find run ${runId}`)) as {
    workflow_id?: unknown
  }
  if (typeof run.workflow_id !== 'number') {
    throw new StoreError(`the GitHub API named no workflow for run ${runId}`)
  }
  const listed = (await call(
    target,
    `/actions/workflows/${run.workflow_id}/runs?per_page=${RUNS_LOOKED_AT}`,
    `list the runs of workflow ${run.workflow_id}`
  )) as { workflow_runs?: { id?: unknown; created_at?: unknown }[] }
  const runs = (listed.workflow_runs ?? []).filter(
    (r): r is { id: number; created_at: string } =>
      typeof r.id === 'number' && typeof r.created_at === 'string'
  )
  return runs
    .sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at) || b.id - a.id)
    .map(r => r.id)
}
