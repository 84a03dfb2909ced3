import { describe, expect, it } from 'vitest'
import { PlainDisplay } from '../../../src/app/progress.js'
import { JsonDisplay, TtyDisplay, createDisplay } from '../../../src/cli/display.js'
import { MiB, setup, volume } from '../fakes/display.js'

describe('TTY display', () => {
  it('redraws one status line in place with bytes, rate and ETA, then leaves a summary', () => {
    const { clock, stderr, options } = setup({}, true)
    const display = new TtyDisplay(options)
    display.onTransfer(volume(0, false, 100 * MiB))
    clock.now = 1000
    display.onTransfer(volume(20 * MiB, false, 100 * MiB))
    const live = stderr.writes.at(-1)!
    expect(live.startsWith('\r\x1b[2K')).toBe(true)
    expect(live).toContain('volume pgdata: 20.0 MiB of 100.0 MiB (20%), 20.0 MiB/s, ETA 0:04')
    expect(live).not.toContain('\n')

    clock.now = 5000
    display.onTransfer(volume(100 * MiB, true, 100 * MiB))
    expect(stderr.writes.at(-1)).toBe('\r\x1b[2Kvolume pgdata: 100.0 MiB in 5.0 s (20.0 MiB/s)\n')
  })

  it('redraws at most every 100 ms', () => {
    const { clock, stderr, options } = setup({}, true)
    const display = new TtyDisplay(options)
    display.onTransfer(volume(0))
    const before = stderr.writes.length
    for (let ms = 10; ms < 100; ms += 10) {
      clock.now = ms
      display.onTransfer(volume(ms * 1000))
    }
    expect(stderr.writes.length).toBe(before)
    clock.now = 100
    display.onTransfer(volume(100_000))
    expect(stderr.writes.length).toBe(before + 1)
  })

  it('prints log lines above the live lines and redraws them', () => {
    const { clock, stderr, options } = setup({}, true)
    const display = new TtyDisplay(options)
    display.onTransfer(volume(0))
    display.onTransfer({ kind: 'image', name: 'db', bytes: 0, done: false })
    clock.now = 300
    display.onTransfer({ kind: 'image', name: 'db', bytes: 3 * MiB, done: false })
    // Two live lines: clearing them moves up one line.
    display.log.info('committed db')
    const written = stderr.writes.at(-1)!
    expect(written.startsWith('\r\x1b[2K\x1b[1A\x1b[2Kcommitted db\n')).toBe(true)
    expect(written).toContain('volume pgdata: 0 B\nimage db: 3.0 MiB, 10.0 MiB/s')
  })

  it('cuts live lines to the terminal width', () => {
    const { stderr, options } = setup({}, true)
    const display = new TtyDisplay(options)
    display.onTransfer({ kind: 'volume', name: 'v'.repeat(200), bytes: 0, done: false })
    display.log.info('x')
    const live = stderr.writes.at(-1)!.split('\n').at(-1)!
    expect(live.length).toBe(79)
  })

  it('reports transfers cut short, and the error', () => {
    const { stderr, stdout, options } = setup({}, true)
    const display = new TtyDisplay(options)
    display.onTransfer(volume(5 * MiB))
    display.finish({
      command: 'snapshot',
      ok: false,
      exitCode: 1,
      error: { name: 'StoreError', message: 'store full' }
    })
    expect(stderr.text).toContain('volume pgdata: stopped after 5.0 MiB\nerror: store full\n')
    expect(stdout.text).toBe('')
  })
})

describe('JSON display', () => {
  it('writes one JSON object per line on stdout for every event, the result last', async () => {
    const { clock, stdout, stderr, options } = setup({
      json: true,
      mask: text => text.replaceAll('hunter2', '***')
    })
    const display = new JsonDisplay(options)
    await display.log.group('Copying volumes', async () => {
      display.log.info('copying')
      display.onTransfer(volume(0))
      clock.now = 1000
      display.onTransfer(volume(2 * MiB))
      display.onTransfer(volume(2 * MiB, true))
    })
    display.log.warn('password "hunter2" ignored')
    display.finish({
      command: 'snapshot',
      ok: true,
      exitCode: 0,
      result: { when: new Date(0), secret: 'hunter2' }
    })
    expect(stderr.text).toBe('')
    const events = stdout.text
      .trimEnd()
      .split('\n')
      .map(line => JSON.parse(line) as Record<string, unknown>)
    expect(events).toEqual([
      { event: 'group', title: 'Copying volumes' },
      { event: 'log', level: 'info', message: 'copying' },
      { event: 'transfer', kind: 'volume', name: 'pgdata', bytes: 0, done: false },
      {
        event: 'transfer',
        kind: 'volume',
        name: 'pgdata',
        bytes: 2 * MiB,
        done: false,
        bytesPerSecond: 2 * MiB
      },
      {
        event: 'transfer',
        kind: 'volume',
        name: 'pgdata',
        bytes: 2 * MiB,
        done: true,
        bytesPerSecond: 2 * MiB
      },
      { event: 'log', level: 'warning', message: 'password "***" ignored' },
      {
        event: 'result',
        command: 'snapshot',
        ok: true,
        exitCode: 0,
        result: { when: '1970-01-01T00:00:00.000Z', secret: '***' }
      }
    ])
  })
})

describe('createDisplay', () => {
  it('picks JSON when asked, the live display on a TTY, plain lines otherwise', () => {
    expect(createDisplay(setup({ json: true }, true).options)).toBeInstanceOf(JsonDisplay)
    expect(createDisplay(setup({}, true).options)).toBeInstanceOf(TtyDisplay)
    expect(createDisplay(setup({}, false).options)).toBeInstanceOf(PlainDisplay)
  })
})
