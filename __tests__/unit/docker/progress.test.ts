import { describe, expect, it } from 'vitest'
import { parseProgress } from '../../../src/docker/progress.js'

const DIGEST = 'sha256:4a1c3b2e9f8d7c6b5a4e3d2c1b0a9f8e7d6c5b4a3e2d1c0b9a8f7e6d5c4b3a2e'

/** Event lines as the engine streams them, `\r\n` after each. */
const stream = (...events: object[]) => events.map(event => `${JSON.stringify(event)}\r\n`).join('')

describe('parseProgress', () => {
  it('reads a successful push and its digest', () => {
    const text = stream(
      { status: 'The push refers to repository [127.0.0.1:5000/docker-snapshot]' },
      { status: 'Preparing', progressDetail: {}, id: '8d3ac3489996' },
      {
        status: 'Pushing',
        progressDetail: { current: 512, total: 2048 },
        progress: '[====>      ]     512B/2.048kB',
        id: '8d3ac3489996'
      },
      { status: 'Pushed', progressDetail: {}, id: '8d3ac3489996' },
      { status: `snap-1-web: digest: ${DIGEST} size: 527` },
      { progressDetail: {}, aux: { Tag: 'snap-1-web', Digest: DIGEST, Size: 527 } }
    )
    expect(parseProgress(text)).toEqual({ digest: DIGEST, loaded: [] })
  })

  it('reads an error the engine reports in-band with `error` only', () => {
    const text = stream(
      { status: 'Pulling from library/nope' },
      { error: 'manifest for nope:latest not found: manifest unknown' }
    )
    expect(parseProgress(text)).toEqual({
      error: 'manifest for nope:latest not found: manifest unknown',
      loaded: []
    })
  })

  it('prefers errorDetail.message over error', () => {
    const text = stream({
      errorDetail: { message: 'unauthorized: authentication required (detail)' },
      error: 'unauthorized: authentication required'
    })
    expect(parseProgress(text).error).toBe('unauthorized: authentication required (detail)')
  })

  it('falls back to error when errorDetail has no message', () => {
    expect(parseProgress(stream({ errorDetail: {}, error: 'denied' })).error).toBe('denied')
  })

  it('keeps the first error', () => {
    const text = stream(
      { status: 'Preparing', id: 'a' },
      { errorDetail: { message: 'first: blob upload unknown' }, error: 'first' },
      { error: 'second: connection reset' },
      { errorDetail: { message: 'third' } }
    )
    expect(parseProgress(text).error).toBe('first: blob upload unknown')
  })

  it('still reports a digest that came before an error', () => {
    const text = stream({ aux: { Digest: DIGEST } }, { error: 'late failure' })
    expect(parseProgress(text)).toEqual({ error: 'late failure', digest: DIGEST, loaded: [] })
  })

  it('reports an unreadable line, cut to 200 characters', () => {
    const garbage = `<html>${'x'.repeat(300)}</html>`
    const progress = parseProgress(`${stream({ status: 'Preparing' })}${garbage}\n`)
    expect(progress.error).toBe(
      `the engine sent an unreadable progress line: ${garbage.slice(0, 200)}`
    )
    expect(progress.error).not.toContain('</html>')
  })

  it('keeps an earlier in-band error over a later unreadable line', () => {
    const progress = parseProgress(`${stream({ error: 'denied' })}not json\n`)
    expect(progress.error).toBe('denied')
  })

  it('reads what a load loaded, by reference and by id', () => {
    const text = stream(
      {
        status: 'Loading layer',
        progressDetail: { current: 32768, total: 1474560 },
        progress: '[=>    ]  32.77kB/1.475MB',
        id: '8d3ac3489996'
      },
      { stream: 'Loaded image: docker-snapshot/commits:snap-1-web\n' },
      { stream: `Loaded image ID: ${DIGEST}\n` },
      { stream: 'Loaded image: 127.0.0.1:5000/team/snapshots:snap-1-db\n' }
    )
    expect(parseProgress(text)).toEqual({
      loaded: [
        'docker-snapshot/commits:snap-1-web',
        DIGEST,
        '127.0.0.1:5000/team/snapshots:snap-1-db'
      ]
    })
  })

  it('reads a load message in status as well as stream', () => {
    expect(parseProgress(stream({ status: 'Loaded image: busybox:1.36' })).loaded).toEqual([
      'busybox:1.36'
    ])
  })

  it('does not take other lines that mention loading', () => {
    const text = stream(
      { stream: 'The image busybox:1.36 already exists, renaming the old one with ID x\n' },
      { status: 'Loading layer', id: 'abc' },
      { stream: 'Not Loaded image: nope\n' }
    )
    expect(parseProgress(text).loaded).toEqual([])
  })

  it('reads an empty stream as nothing said', () => {
    expect(parseProgress('')).toEqual({ loaded: [] })
    expect(parseProgress('\r\n\n  \n')).toEqual({ loaded: [] })
  })

  it('reads lines ending in \\n alone', () => {
    const text = `${JSON.stringify({ aux: { Digest: DIGEST } })}\n${JSON.stringify({ error: 'x' })}`
    expect(parseProgress(text)).toEqual({ digest: DIGEST, error: 'x', loaded: [] })
  })
})
