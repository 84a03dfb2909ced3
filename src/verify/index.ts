export { verifySnapshot, removeRestored, throwawayPrefix } from './verify.js'
export type { VerifyCheck, VerifyCheckKind, VerifyOptions, VerifyReport } from './types.js'
