import { invalidInput } from '../shared/errors.js'

/** Which store a run uses, as the `store` input names it. */
export interface StoreSpec {
  kind: 'directory'
  path: string
}

/** Reads the `store` input: a directory path, or `dir:PATH`. */
export function parseStoreSpec(value: string): StoreSpec {
  const explicit = /^([a-z][a-z0-9+.-]*):(.*)$/.exec(value)
  if (explicit && explicit[1] !== 'dir' && explicit[1].length > 1) {
    throw invalidInput(
      'store',
      value,
      `'${explicit[1]}:' is no kind of store this tool has: expected a directory path, or dir:PATH.`
    )
  }
  const path = explicit && explicit[1] === 'dir' ? explicit[2] : value
  if (!path.trim()) {
    throw invalidInput('store', value, 'The directory path is empty: expected dir:PATH or a path.')
  }
  return { kind: 'directory', path }
}
