import { describe, expect, it } from 'vitest'
import { PlainDisplay, RateMeter, formatDuration } from '../../../src/app/progress.js'
import { setup, volume } from '../fakes/display.js'

describe('plain display', () => {
  it('writes a line at the start, every 5 s, and at the end, with no control characters', () => {
    const { clock, stderr, options } = setup()
    const display = new PlainDisplay(options)
    display.log.info('starting')
    for (let ms = 0; ms <= 12_000; ms += 500) {
      clock.now = ms
      display.onTransfer(volume(ms * 10_000))
    }
    display.onTransfer(volume(120_000_000, true))
    display.log.warn('careful')
    const lines = stderr.text.split('\n').filter(Boolean)
    expect(lines[0]).toBe('starting')
    expect(lines[1]).toBe('volume pgdata: started')
    expect(lines[2]).toMatch(/^volume pgdata: 47\.7 MiB, 9\.5 MiB\/s$/)
    expect(lines[3]).toMatch(/^volume pgdata: 95\.4 MiB, 9\.5 MiB\/s$/)
    expect(lines[4]).toBe('volume pgdata: 114.4 MiB in 12.0 s (9.5 MiB/s)')
    expect(lines[5]).toBe('warning: careful')
    expect(lines).toHaveLength(6)
    // eslint-disable-next-line no-control-regex
    expect(stderr.text).not.toMatch(/[\x1b\r]/)
  })

  it('prints group headers, and only warnings when quiet', async () => {
    const loud = setup()
    await new PlainDisplay(loud.options).log.group('Copying volumes', async () => undefined)
    expect(loud.stderr.text).toBe('==> Copying volumes\n')

    const quiet = setup({ quiet: true })
    const display = new PlainDisplay(quiet.options)
    await display.log.group('Copying volumes', async () => display.log.info('hidden'))
    display.onTransfer(volume(1))
    display.log.warn('shown')
    expect(quiet.stderr.text).toBe('warning: shown\n')
  })

  it('masks secrets in everything it writes', () => {
    const { stderr, stdout, options } = setup({ mask: text => text.replaceAll('hunter2', '***') })
    const display = new PlainDisplay(options)
    display.log.info('login with hunter2')
    display.finish({ command: 'x', ok: true, exitCode: 0, text: 'pw hunter2\n' })
    expect(stderr.text + stdout.text).not.toContain('hunter2')
    expect(stderr.text).toBe('login with ***\n')
  })
})

describe('rates and durations', () => {
  it('measures a steady rate exactly and follows a change smoothly', () => {
    const meter = new RateMeter(0)
    expect(meter.bytesPerSecond).toBeUndefined()
    meter.update(100, 100)
    expect(meter.bytesPerSecond).toBeUndefined()
    for (let s = 1; s <= 5; s++) meter.update(s * 1000, s * 1000)
    expect(meter.bytesPerSecond).toBe(1000)
    meter.update(5000 + 3000, 6000)
    expect(meter.bytesPerSecond).toBeGreaterThan(1000)
    expect(meter.bytesPerSecond).toBeLessThan(3000)
  })

  it.each([
    [0, '0:00'],
    [7.4, '0:07'],
    [750, '12:30'],
    [3723, '1:02:03']
  ])('%f s is %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text)
  })
})
