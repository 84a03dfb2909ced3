/**
 * The CLI's one table of commands: what each does, the mode it sets, and which action inputs it
 * takes as flags. The parser and the help text both read it, so they cannot disagree.
 */
import type { InputName } from '../app/inputs.js'
import { INPUTS } from '../app/inputs.js'
import type { Mode } from '../app/settings.js'

export type CommandName = 'snapshot' | 'restore' | 'verify' | 'ls' | 'prune' | 'drill'

/** Flags that are not action inputs: they steer the CLI (or one command) only. */
export type SwitchName = 'demo' | 'destroy'

export interface CommandSpec {
  /** One line for the command list. */
  summary: string
  /** The `mode` input the command sets (never a flag); none for commands that only read. */
  mode?: Mode
  /** The action inputs accepted as `--<input>` flags, in the order help lists them. */
  inputs: readonly InputName[]
  switches: readonly SwitchName[]
  examples: readonly string[]
}

const REGISTRY_ACCESS: readonly InputName[] = ['registry', 'registry-username', 'registry-password']
/** Where a reading command finds snapshots in workflow artifacts or the Actions cache. */
const READ_FROM: readonly InputName[] = ['run-id', 'run-repository', 'github-token', 'cache-key']
/** What opens an encrypted snapshot. */
const DECRYPTION: readonly InputName[] = ['encryption-identity', 'encryption-passphrase']
const ENCRYPTION: readonly InputName[] = [
  'encryption-recipients',
  'encryption-passphrase',
  'encryption-identity'
]

export const COMMANDS: Record<CommandName, CommandSpec> = {
  snapshot: {
    summary: 'Snapshot running containers with their volumes, images and networks into a store.',
    mode: 'snapshot',
    inputs: [
      'compose-project',
      'containers',
      'labels',
      'all',
      'volumes',
      'exclude-volumes',
      'store',
      'snapshot-id',
      'replace-snapshot',
      'docker-host',
      'consistency',
      'commit',
      'keep-images',
      'bind-mounts',
      'compression',
      'compression-level',
      'copy-method',
      'hook-timeout',
      'retention-days',
      'cache-key',
      ...ENCRYPTION,
      ...REGISTRY_ACCESS,
      'repository'
    ],
    switches: [],
    examples: [
      'docker-snapshot snapshot --compose-project shop --store /srv/snapshots',
      'docker-snapshot snapshot --containers db --containers web --consistency stop',
      'docker-snapshot snapshot --all --registry 127.0.0.1:5000 --no-commit --json'
    ]
  },
  restore: {
    summary: 'Recreate the containers, volumes and networks of a snapshot.',
    mode: 'restore',
    inputs: [
      'snapshot-id',
      'store',
      ...READ_FROM,
      'docker-host',
      'on-conflict',
      'prefix',
      'only-containers',
      'only-volumes',
      'start',
      'wait-timeout',
      'ports',
      'env',
      'keep-on-failure',
      ...DECRYPTION,
      'copy-method',
      ...REGISTRY_ACCESS
    ],
    switches: [],
    examples: [
      'docker-snapshot restore --snapshot-id latest --store /srv/snapshots',
      'docker-snapshot restore --prefix copy- --ports ephemeral',
      'docker-snapshot restore --only-volumes pgdata --on-conflict replace'
    ]
  },
  verify: {
    summary: 'Check that a snapshot is whole and restorable, without touching what exists.',
    mode: 'verify',
    inputs: [
      'snapshot-id',
      'store',
      ...READ_FROM,
      'docker-host',
      'restore-check',
      'drill-container',
      'drill-command',
      'wait-timeout',
      'env',
      ...DECRYPTION,
      'copy-method',
      ...REGISTRY_ACCESS
    ],
    switches: [],
    examples: [
      'docker-snapshot verify --snapshot-id latest',
      'docker-snapshot verify --restore-check --store /srv/snapshots',
      "docker-snapshot verify --drill-container db --drill-command 'pg_isready -U postgres'"
    ]
  },
  ls: {
    summary:
      'List the snapshots in a store: id, status (complete, incomplete, damaged: its ' +
      'manifest does not check out, or encrypted: no key given opens it), when, and size.',
    inputs: ['store', ...READ_FROM, ...DECRYPTION, 'registry-username', 'registry-password'],
    switches: [],
    examples: [
      'docker-snapshot ls --store /srv/snapshots',
      'docker-snapshot ls --json',
      'docker-snapshot ls --store oci://ghcr.io/team/snapshots'
    ]
  },
  prune: {
    summary:
      'Remove old snapshots from a store, keeping the newest complete ones; ' +
      'also removes incomplete snapshots (failed runs) older than an hour. Damaged snapshots ' +
      'and those a restore or verify is reading are left, and named.',
    mode: 'prune',
    inputs: ['store', ...READ_FROM, 'keep', 'older-than', 'registry-username', 'registry-password'],
    switches: [],
    examples: [
      'docker-snapshot prune --keep 5',
      'docker-snapshot prune --older-than 7d --store /srv/snapshots',
      'docker-snapshot prune --keep 3 --older-than 12h'
    ]
  },
  drill: {
    summary:
      'A disaster-recovery drill: ask the stack questions, snapshot it, verify the snapshot, ' +
      'destroy the stack (--demo, --destroy) or leave it and restore beside it under throwaway ' +
      'names, restore, ask again, and say whether every answer is the same.',
    mode: 'snapshot',
    inputs: [
      'compose-project',
      'store',
      'docker-host',
      'consistency',
      'compression',
      'drill-container',
      'drill-command',
      'wait-timeout',
      'env',
      ...ENCRYPTION,
      ...REGISTRY_ACCESS,
      'repository'
    ],
    switches: ['demo', 'destroy'],
    examples: [
      'docker-snapshot drill --demo',
      'docker-snapshot drill --compose-project shop --destroy',
      "docker-snapshot drill --compose-project shop --drill-container db --drill-command 'pg_isready'"
    ]
  }
}

export const COMMAND_NAMES = Object.keys(COMMANDS) as CommandName[]

export const SWITCHES: Record<SwitchName, { description: string }> = {
  demo: {
    description:
      'Drill the demo stack (a seeded database and web server) instead of a project of ' +
      'your own: a first run to see what a drill does. The demo is destroyed and restored ' +
      'in place.'
  },
  destroy: {
    description:
      'Destroy the project (containers, volumes, networks) after the snapshot is verified, and ' +
      'restore it in place: a real recovery. Without it, the copy is restored beside the ' +
      'original under throwaway names and removed afterwards.'
  }
}

/** The CLI's own flags, accepted by every command. */
export const GLOBAL_FLAGS = {
  json: 'Machine output: one JSON object per line on stdout (events, then the result).',
  quiet: 'Only warnings, errors and the result; no progress.',
  help: 'Show help for the command.'
} as const

export type GlobalFlag = keyof typeof GLOBAL_FLAGS

/**
 * Inputs that hold a list: a repeated flag adds to the list, joined by the input's separator
 * (`env` holds NAME=VALUE lines, the others comma-separated names).
 */
export const LIST_SEPARATORS: Partial<Record<InputName, string>> = {
  containers: ',',
  labels: ',',
  volumes: ',',
  'exclude-volumes': ',',
  'only-containers': ',',
  'only-volumes': ',',
  env: '\n'
}

/** Inputs whose values are true/false take `--name` and `--no-name`: their default says so. */
export function isBooleanInput(name: InputName): boolean {
  const fallback: string = INPUTS[name].default
  return fallback === 'true' || fallback === 'false'
}

/**
 * Environment variables a flag may come from when it is not given, to keep secrets out of shell
 * history; `with`: only when one of those flags is given too (a password for nothing is an error).
 */
export const FLAG_ENVIRONMENT: Partial<
  Record<InputName, { variable: string; with?: readonly InputName[] }>
> = {
  'registry-password': {
    variable: 'DOCKER_SNAPSHOT_REGISTRY_PASSWORD',
    with: ['registry', 'registry-username']
  },
  'github-token': { variable: 'DOCKER_SNAPSHOT_GITHUB_TOKEN', with: ['store'] },
  'encryption-passphrase': { variable: 'DOCKER_SNAPSHOT_ENCRYPTION_PASSPHRASE' },
  'encryption-identity': { variable: 'DOCKER_SNAPSHOT_ENCRYPTION_IDENTITY' }
}

/**
 * Inputs that carry secrets, masked in all output: the whole value, or the values of its
 * NAME=VALUE lines.
 */
export const SECRET_INPUTS: Partial<Record<InputName, 'value' | 'env-lines'>> = {
  'registry-password': 'value',
  'github-token': 'value',
  'encryption-passphrase': 'value',
  'encryption-identity': 'value',
  env: 'env-lines'
}
