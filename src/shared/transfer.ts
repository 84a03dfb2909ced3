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

/**
 * Passes on a transfer's first event, then at most one every `intervalMs`, and always its last:
 * a copy reports every chunk it moves (tens of thousands per GiB), far more than anyone reads.
 */
export function throttleTransfers(listener: TransferListener, intervalMs = 250): TransferListener {
  const passed = new Map<string, number>()
  return transfer => {
    const key = `${transfer.kind} ${transfer.name}`
    const now = Date.now()
    const last = passed.get(key)
    if (!transfer.done && last !== undefined && now - last < intervalMs) return
    if (transfer.done) passed.delete(key)
    else passed.set(key, now)
    listener(transfer)
  }
}
