import { StoreError } from '../../shared/errors.js'

/**
 * The StoreError for a registry's unexpected answer to `call`: what it said (its error codes)
 * and what to do. `source` names where the credentials came from, never what they are.
 */
export async function refusal(
  where: string,
  host: string,
  call: string,
  response: Response,
  source: string
): Promise<StoreError> {
  const said = await registryErrors(response)
  const status = `${response.status}${said ? `: ${said}` : ''}`
  const head = `${where} refused ${call} (${status}).`
  if (
    /quota|storage limit|insufficient storage/i.test(said) ||
    [413, 507].includes(response.status)
  ) {
    return new StoreError(
      `${head} The registry's size limit or storage quota was reached: free space there ` +
        '(prune old snapshots, delete unused images) or choose another store.'
    )
  }
  switch (response.status) {
    case 401:
      return new StoreError(
        `${head} It does not accept the credentials from ${source}: check registry-username ` +
          `and registry-password, or docker login ${host}.`
      )
    case 403:
      return new StoreError(
        `${head} The account (credentials from ${source}) may not do this in the repository: ` +
          'grant it access, or choose a repository it may use.'
      )
    case 404:
      return new StoreError(
        `${head} The repository or the object is not there: check the store address.`
      )
    case 405:
      return new StoreError(
        `${head} The registry does not offer this operation (deleting may be disabled there).`
      )
    case 429:
      return new StoreError(`${head} Too many requests: wait, then try again.`)
  }
  if (response.status >= 500) {
    return new StoreError(`${head} The registry failed: try again later; its log says why.`)
  }
  return new StoreError(`${head} Check the registry and the store address.`)
}

/** The registry's error codes and messages from a JSON error body (`{errors: [{code, message}]}`). */
async function registryErrors(response: Response): Promise<string> {
  const text = await response.text().catch(() => '')
  try {
    const parsed = JSON.parse(text) as { errors?: { code?: unknown; message?: unknown }[] }
    return (parsed.errors ?? [])
      .map(e => [e.code, e.message].filter(part => typeof part === 'string').join(' '))
      .join('; ')
      .slice(0, 300)
  } catch {
    return ''
  }
}
