export {
  COMPRESSION_LEVELS,
  createDecompressor,
  detectCodecs,
  resolveCompression,
  type Codec,
  type CodecAvailability,
  type CompressorChoice
} from './compression.js'
export { ByteCounter, DigestCounter } from './digest.js'
export { inspectArchive, type ArchiveInspection, type ExpectedArchive } from './inspect.js'
export { packArchive, type PackResult } from './pack.js'
export { rootEntryTar } from './root-entry.js'
