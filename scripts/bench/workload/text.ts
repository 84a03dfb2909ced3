// Repeatable pseudo-random text for the data set: log lines and JSON order documents.
import { closeSync, openSync, writeSync } from 'node:fs'

export const MiB = 1024 * 1024

export type Random = () => number

/** xorshift32: fast, repeatable pseudo-random numbers. */
export function prng(seed: number): Random {
  let x = seed >>> 0 || 1
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return x >>> 0
  }
}

const WORDS = {
  level: ['INFO', 'INFO', 'INFO', 'INFO', 'INFO', 'INFO', 'DEBUG', 'DEBUG', 'WARN', 'ERROR'],
  service: ['api', 'worker', 'auth', 'billing', 'search'],
  method: ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'],
  resource: ['orders', 'users', 'items', 'carts', 'payments', 'sessions', 'inventory', 'reviews'],
  status: [200, 200, 200, 200, 200, 201, 204, 304, 400, 401, 404, 409, 500, 503],
  problem: [
    'slow query on primary',
    'retrying upstream call',
    'connection reset by peer',
    'deadline exceeded',
    'cache miss, loading from store',
    'lock wait timeout'
  ],
  first: ['Ada', 'Grace', 'Linus', 'Ken', 'Barbara', 'Edsger', 'Donald', 'Frances', 'Alan'],
  last: ['Lovelace', 'Hopper', 'Torvalds', 'Thompson', 'Liskov', 'Dijkstra', 'Knuth', 'Allen'],
  adjective: ['red', 'small', 'heavy', 'organic', 'refurbished', 'wireless', 'steel', 'classic'],
  noun: ['chair', 'lamp', 'kettle', 'keyboard', 'backpack', 'bottle', 'notebook', 'speaker'],
  tag: ['priority', 'gift', 'wholesale', 'returning', 'promo', 'b2b', 'express', 'fragile'],
  orderStatus: ['open', 'paid', 'shipped', 'cancelled', 'refunded']
}

const pick = <T>(rnd: Random, list: readonly T[]): T => list[rnd() % list.length]!

const MILLIS = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'))
const LEVELS = WORDS.level.map(level => level.padEnd(5))

/** The clock of a log file: milliseconds, and the formatted second they fall in. */
interface LogClock {
  ms: number
  second: number
  secondText: string
}

function tick(clock: LogClock, rnd: Random): void {
  clock.ms += rnd() % 40
  const second = Math.floor(clock.ms / 1000)
  if (second !== clock.second) {
    clock.second = second
    clock.secondText = new Date(second * 1000).toISOString().slice(0, 19)
  }
}

function logLine(clock: LogClock, rnd: Random): string {
  tick(clock, rnd)
  const level = pick(rnd, LEVELS)
  const status = pick(rnd, WORDS.status)
  const line =
    `${clock.secondText}.${MILLIS[clock.ms % 1000]}Z ${level} ${pick(rnd, WORDS.service)}-${rnd() % 8} ` +
    `${pick(rnd, WORDS.method)} /api/v1/${pick(rnd, WORDS.resource)}/${rnd() % 100000} ` +
    `status=${status} bytes=${rnd() % 20000} dur_ms=${rnd() % 900} ` +
    `req=${((rnd() | 0x10000000) >>> 0).toString(16)} user=u${rnd() % 50000}`
  const trouble = level === 'WARN ' || level === 'ERROR' || status >= 500
  return trouble
    ? `${line} msg="${pick(rnd, WORDS.problem)}" attempt=${(rnd() % 5) + 1}\n`
    : `${line}\n`
}

/** Writes `bytes` (rounded up to a whole line) of log-like text to `path`; returns bytes written. */
export function writeLogFile(path: string, bytes: number, rnd: Random, startMs: number): number {
  const fd = openSync(path, 'w')
  const clock: LogClock = { ms: startMs, second: -1, secondText: '' }
  let written = 0
  try {
    while (written < bytes) {
      let text = ''
      while (text.length < MiB && written + text.length < bytes) text += logLine(clock, rnd)
      written += writeSync(fd, Buffer.from(text, 'latin1'))
    }
  } finally {
    closeSync(fd)
  }
  return written
}

function orderItem(rnd: Random): string {
  return (
    `\n    {\n      "sku": "SKU-${rnd() % 1000000}",\n` +
    `      "name": "${pick(rnd, WORDS.adjective)} ${pick(rnd, WORDS.noun)}",\n` +
    `      "qty": ${1 + (rnd() % 12)},\n      "price": "${((rnd() % 100000) / 100).toFixed(2)}",\n` +
    `      "warehouse": "wh-${rnd() % 16}"\n    }`
  )
}

function orderHead(rnd: Random, n: number): string {
  const created = new Date(1767225600000 + n * 61000 + (rnd() % 60000)).toISOString()
  const tags = Array.from({ length: 1 + (rnd() % 4) }, () => `\n    "${pick(rnd, WORDS.tag)}"`)
  return (
    `{\n  "id": "ord-${n}-${rnd().toString(36)}",\n  "type": "${pick(rnd, WORDS.resource)}",\n` +
    `  "created": "${created}",\n` +
    `  "status": "${pick(rnd, WORDS.orderStatus)}",\n` +
    `  "owner": {\n    "id": "u${rnd() % 50000}",\n` +
    `    "name": "${pick(rnd, WORDS.first)} ${pick(rnd, WORDS.last)}",\n` +
    `    "email": "user${rnd() % 50000}@example.test"\n  },\n` +
    `  "tags": [${tags.join(',')}\n  ],\n  "items": [`
  )
}

/** A JSON document of about `target` bytes, laid out as JSON.stringify(doc, null, 2) would. */
export function jsonDocument(rnd: Random, n: number, target: number): string {
  const tail = '\n  ]\n}\n'
  let text = orderHead(rnd, n)
  for (let first = true; text.length + tail.length < target; first = false) {
    text += (first ? '' : ',') + orderItem(rnd)
  }
  return text + tail
}
