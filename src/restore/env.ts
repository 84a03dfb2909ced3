/**
 * Environment variables whose values the snapshot left out because they look secret: a
 * value the user supplies wins; else the image's own value applies (a committed image carries the
 * container's environment); else the restore cannot go on and says which variable is missing.
 * Values never leave the create body: they are not logged or reported.
 */
import { InvalidSettingsError } from '../shared/errors.js'
import type { ContainerRecord } from '../manifest/manifest.js'
import { isSecretName } from '../snapshot/capture.js'

export interface EnvResolution {
  /**
   * The create body's `Env`: the recorded entries and the supplied values of redacted names; with
   * the image's values of the others when the image is the container's commit (see inImageOrder).
   */
  env: string[] | undefined
  /** Redacted names whose value is the image's. */
  fromImage: string[]
  /** Redacted names given a value from the supplied environment. */
  supplied: string[]
  /** Redacted names with no value anywhere. */
  missing: string[]
}

/** The variable name of an `Env` entry (`NAME=value` or a bare `NAME`). */
export function envName(entry: string): string {
  const equals = entry.indexOf('=')
  return equals < 0 ? entry : entry.slice(0, equals)
}

export function resolveRedactedEnv(
  record: Pick<ContainerRecord, 'redactedEnv' | 'create'>,
  imageEnv: string[] | undefined,
  supplied: Record<string, string>
): EnvResolution {
  const redacted = new Set(record.redactedEnv)
  const recorded = record.create.Env
  if (redacted.size === 0) return { env: recorded, fromImage: [], supplied: [], missing: [] }

  const imageNames = new Set((imageEnv ?? []).map(envName))
  const env = (recorded ?? []).filter(entry => !redacted.has(envName(entry)))
  const resolution: EnvResolution = { env, fromImage: [], supplied: [], missing: [] }
  for (const name of redacted) {
    if (Object.hasOwn(supplied, name)) {
      env.push(`${name}=${supplied[name]}`)
      resolution.supplied.push(name)
    } else if (imageNames.has(name)) {
      resolution.fromImage.push(name)
    } else {
      resolution.missing.push(name)
    }
  }
  if (resolution.fromImage.length > 0)
    resolution.env = inImageOrder(env, imageEnv ?? [], resolution)
  return resolution
}

/**
 * The engine puts a container's own variables first and appends those only the image sets, so a
 * variable left to the image would move to the end. When the image lists every variable of the
 * container (it is the container's commit), Env follows the image's order, with the image's
 * value for each variable left to it: the restored container's environment reads as the original.
 */
function inImageOrder(env: string[], imageEnv: string[], resolution: EnvResolution): string[] {
  const imageNames = new Set(imageEnv.map(envName))
  const supplied = new Set(resolution.supplied)
  const own = new Map(env.map(entry => [envName(entry), entry]))
  if (![...own.keys()].every(name => supplied.has(name) || imageNames.has(name))) return env
  const fromImage = new Set(resolution.fromImage)
  const ordered: string[] = []
  for (const entry of imageEnv) {
    const name = envName(entry)
    const mine = own.get(name)
    if (mine !== undefined) {
      ordered.push(mine)
      own.delete(name)
    } else if (fromImage.has(name)) {
      ordered.push(entry)
      fromImage.delete(name)
    }
  }
  return [...ordered, ...own.values()]
}

export interface MissingVariable {
  container: string
  image: string
  variable: string
}

/** One error naming every variable that has no value, why it was left out, and how to give it one. */
export function missingEnvError(missing: MissingVariable[]): InvalidSettingsError {
  const listed = missing.map(m => {
    // The manifest keeps only names: a name that does not look secret was left out for its value.
    const why = isSecretName(m.variable)
      ? 'its name looks secret'
      : 'its value holds a URL with a password'
    return `${m.variable} of container ${m.container} (${why}; image ${m.image} does not set it)`
  })
  const example = [...new Set(missing.map(m => `${m.variable}=<value>`))].join(', ')
  return new InvalidSettingsError(
    `The snapshot left out the values of variables that look secret: ${listed.join('; ')}. ` +
      `Supply them in the restore's env setting (${example}).`
  )
}
