export { verifySnapshot } from './verify.js'
export { removeRestored, throwawayPrefix } from './throwaway.js'
export type { VerifyCheck, VerifyCheckKind, VerifyOptions, VerifyReport } from './types.js'
