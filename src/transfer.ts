/** A long copy in progress (a volume streamed, an image pushed or saved), for progress displays. */
export interface Transfer {
  kind: 'volume' | 'image'
  name: string
  /** Bytes moved so far (uncompressed tar bytes for volumes). */
  bytes: number
  /** Expected total when known, for a rate and an ETA. */
  totalBytes?: number
  done: boolean
}

export type TransferListener = (transfer: Transfer) => void
