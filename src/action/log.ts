import * as core from '@actions/core'
import type { Logger } from '../shared/log.js'

/** The workflow log: folded groups, warnings as annotations. */
export const actionLogger: Logger = {
  debug: message => core.debug(message),
  info: message => core.info(message),
  warn: message => core.warning(message),
  group: (title, fn) => core.group(title, fn)
}
