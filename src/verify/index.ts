export { verifySnapshot } from './verify.js'
export { removeRestored, throwawayPrefix } from './throwaway.js'
export type {
  DrillCommand,
  VerifyCheck,
  VerifyCheckKind,
  VerifyOptions,
  VerifyReport
} from './types.js'
