// Everything the bench takes from docker-snapshot's own code, in one place: the engine boundary
// and the archive pieces the CLI itself streams through.
export { carrierOwner, Engine } from '../../src/docker/engine.js'
export { describeError, NotFoundError } from '../../src/shared/errors.js'
export { COPY_TOOLS, ensureToolImage } from '../../src/docker/helper-image.js'
export {
  ByteCounter,
  createDecompressor,
  DigestCounter,
  resolveCompression,
  rootEntryTar
} from '../../src/archive/index.js'
export { TarScanner } from '../../src/archive/tar-scan.js'
export { DirectoryStore } from '../../src/stores/directory/store.js'
