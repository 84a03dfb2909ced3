/**
 * The engine answers push, pull, load and import with 200 and a stream of JSON events, and
 * reports failure inside that stream. This reads the whole stream's text and says what it meant.
 */
export interface Progress {
  /** The first error the engine reported in-band, if any. */
  error?: string
  /** The manifest digest a push reported (`sha256:…`). */
  digest?: string
  /** What a load said it loaded: image references, or image ids for untagged images. */
  loaded: string[]
}

interface ProgressEvent {
  status?: string
  stream?: string
  error?: string
  errorDetail?: { message?: string }
  aux?: { Digest?: string; Tag?: string }
}

export function parseProgress(text: string): Progress {
  const progress: Progress = { loaded: [] }
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim()) continue
    let event: ProgressEvent
    try {
      event = JSON.parse(line) as ProgressEvent
    } catch {
      progress.error ??= `the engine sent an unreadable progress line: ${line.slice(0, 200)}`
      continue
    }
    const error = event.errorDetail?.message ?? event.error
    if (error) progress.error ??= error
    if (event.aux?.Digest) progress.digest = event.aux.Digest
    const said = event.stream ?? event.status ?? ''
    const loaded = /^Loaded image(?: ID)?: (\S+)/.exec(said.trim())
    if (loaded) progress.loaded.push(loaded[1])
  }
  return progress
}
