import { readFileSync, readdirSync } from 'node:fs'
import { ESLint } from 'eslint'
import { describe, expect, it } from 'vitest'

const root = new URL('../../', import.meta.url)
const architecture = readFileSync(new URL('ARCHITECTURE.md', root), 'utf8')
/** The rooms in the order ARCHITECTURE.md's table lists them, lowest first. */
const rooms = [...architecture.matchAll(/^\| `([a-z]+)\/` +\|/gm)].map(match => match[1])
const eslint = new ESLint({ cwd: new URL('.', root).pathname })

/** The import rule's messages for `source` placed at `path`. */
async function importErrors(path: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath: new URL(path, root).pathname })
  return result.messages
    .filter(message => message.ruleId === 'no-restricted-imports')
    .map(message => message.message)
}

describe('the rooms of src/', () => {
  it('ARCHITECTURE.md lists every folder of src/, and nothing else', () => {
    const folders = readdirSync(new URL('src/', root), { withFileTypes: true })
      .filter(entry => entry.isDirectory())
      .map(entry => entry.name)
    expect([...rooms].sort()).toEqual(folders.sort())
    expect(rooms[0]).toBe('shared')
  })

  it('the lint refuses every import of a higher room, from files at any depth', async () => {
    const siblings = new Set(['cli', 'action'])
    for (const [rank, room] of rooms.entries()) {
      for (const higher of rooms.slice(rank + 1)) {
        if (siblings.has(room) && siblings.has(higher) && room === 'action') continue
        const shallow = await importErrors(
          `src/${room}/probe.ts`,
          `import { x } from '../${higher}/thing.js'\nexport { x }\n`
        )
        const deep = await importErrors(
          `src/${room}/nested/probe.ts`,
          `import type { X } from '../../${higher}/thing.js'\nexport type { X }\n`
        )
        expect(shallow, `${room} -> ${higher}`).toHaveLength(1)
        expect(shallow[0]).toContain('ARCHITECTURE.md')
        expect(deep, `${room}/nested -> ${higher}`).toHaveLength(1)
      }
    }
  })

  it('cli and action never import each other', async () => {
    expect(
      await importErrors('src/cli/probe.ts', "export * from '../action/main.js'\n")
    ).toHaveLength(1)
    expect(
      await importErrors('src/action/probe.ts', "export * from '../cli/main.js'\n")
    ).toHaveLength(1)
  })

  it('a room may import itself and every lower room', async () => {
    for (const [rank, room] of rooms.entries()) {
      const lower = rooms.slice(0, rank + 1).filter(other => other !== 'cli' || room === 'cli')
      const source = lower.map((other, i) => `import { x${i} } from '../${other}/thing.js'`)
      const errors = await importErrors(`src/${room}/probe.ts`, `${source.join('\n')}\nexport {}\n`)
      expect(errors, room).toEqual([])
    }
  })

  it('only src/docker/ imports dockerode, only src/action/ imports @actions/core', async () => {
    const dockerode = "import Docker from 'dockerode'\nexport { Docker }\n"
    const core = "import * as core from '@actions/core'\nexport { core }\n"
    expect(await importErrors('src/docker/probe.ts', dockerode)).toEqual([])
    expect(await importErrors('src/action/probe.ts', core)).toEqual([])
    expect(await importErrors('src/restore/probe.ts', dockerode)).toHaveLength(1)
    expect(await importErrors('src/cli/probe.ts', core)).toHaveLength(1)
  })
})
