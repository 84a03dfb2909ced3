/**
 * Bad input: every action input and CLI flag with values that cannot work, and the exact message
 * each gets. One table for three readers: the unit test (__tests__/unit/bad-input.test.ts) runs
 * each row through readSettings and the CLI's main, the integration test runs a few through the
 * bundle against a live container, and `npm run package` writes README's "Bad input" table from
 * it. Node runs this file with its types stripped, so it imports types only.
 */
import type { InputName } from '../src/app/inputs.js'

type Inputs = Partial<Record<InputName, string>>

export interface BadInput {
  /** The input, flag or word at fault; the message names it. */
  input: string
  /** The bad value; the message quotes it (or, for a secret, must never show it). */
  value: string
  /** The action's inputs (`mode` included when it matters); absent for a CLI-only case. */
  inputs?: Inputs
  /**
   * The CLI's words. Absent: derived from `inputs` (the command of the mode, or the first that
   * takes every input, with `--name=value` flags). `false`: the CLI cannot be given this.
   */
  argv?: string[] | false
  /** What the action and the CLI say, exactly (the CLI prefixes `error: `); the CLI's alone without `inputs`. */
  message: string
  /** The value is a secret: no output may hold it. */
  secret?: boolean
  /** How README shows the value, when the value itself is too long or unprintable. */
  label?: string
}

/** Stand-ins for secrets: they must appear in no message and no output. */
export const PASSWORD = 'pa55-w0rd-in-the-clear'
export const ENV_VALUE = 'env-value-in-the-clear'
export const GITHUB_TOKEN = 'ghs_token-in-the-clear'

/** A passphrase too short to take, a private key that is none, and a valid public key. */
export const SHORT_PASSPHRASE = 'pw-in-7'
export const BAD_IDENTITY = 'AGE-SECRET-KEY-1NOTAKEYATALL'
const RECIPIENT = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p'

const REGISTRY = { registry: '127.0.0.1:5000' }
const EXPECT_BOOL = 'Expected true or false.'
const EXPECT_NAMES = (what: string, ids = '') =>
  `No ${what} can have that name: expected ${what} names${ids} (letters, digits, '_', '.' or ` +
  "'-', starting with a letter or digit), separated by commas or newlines."
const EXPECT_ID =
  "Expected lowercase letters, digits, '.', '_' or '-', starting with a letter or digit, at " +
  'most 128 characters.'
const EXPECT_STORE =
  'expected artifact, cache, a directory path, dir:PATH or oci://HOST[:PORT]/REPOSITORY.'
const EXPECT_OCI = 'Expected oci://HOST[:PORT]/REPOSITORY, e.g. oci://ghcr.io/team/snapshots.'
const EXPECT_REGISTRY = 'Expected host or host:port, like 127.0.0.1:5000 or ghcr.io.'
const EXPECT_REPOSITORY = 'Expected lowercase path components like team/snapshots.'
const EXPECT_HOST =
  'Expected unix:///path/to/docker.sock, tcp://host:port or ssh://user@host[:port].'
const EXPECT_LEVEL = (range: string, compression: string) =>
  `Expected a whole number from ${range} for compression ${compression} (zstd 1-19, gzip 1-9).`
const EXPECT_DURATION = 'Expected a number and a unit, like 30m, 12h or 7d.'
const EXPECT_PREFIX = "Expected letters, digits, '_', '.' or '-', starting with a letter or digit."
const EXPECT_ENV =
  '(the line is not shown: it may hold a secret). Expected NAME=VALUE lines, NAME of letters, ' +
  "digits and '_', not starting with a digit."
const EXPECT_RECIPIENTS =
  'Expected age public keys (age1…, as age-keygen prints them), separated by commas or newlines.'
const EXPECT_IDENTITY =
  '(the value is not shown: it may be a key). Expected an age private key (AGE-SECRET-KEY-1…) ' +
  'or the path of a file holding such keys, as age-keygen writes it.'
const EXPECT_LABELS = 'expected key or key=value entries, separated by commas or newlines.'
const TIMER_LIMIT =
  'Expected at most 2147483 seconds (about 24 days), the longest timeout Node.js can wait.'
const LONG_ID = 'a'.repeat(129)
const HUGE = '9'.repeat(30)

// One row a hostile value: rows alike but for their values are the table, not copies.
export const BAD_INPUTS: readonly BadInput[] = [
  // mode, and the CLI's command word that stands for it
  {
    input: 'mode',
    value: 'backup',
    inputs: { mode: 'backup' },
    argv: false,
    message: "Invalid mode 'backup'. Expected one of: snapshot, restore, verify, prune."
  },
  {
    input: 'mode',
    value: 'Snapshot',
    inputs: { mode: 'Snapshot' },
    argv: false,
    message: "Invalid mode 'Snapshot'. Expected one of: snapshot, restore, verify, prune."
  },
  {
    input: 'mode',
    value: 'restore',
    argv: ['snapshot', '--mode', 'restore'],
    message:
      '--mode is not a flag: the command chooses the mode. Expected docker-snapshot COMMAND, ' +
      'COMMAND one of: snapshot, restore, verify, ls, prune, drill'
  },
  {
    input: 'command',
    value: 'backup',
    argv: ['backup'],
    message:
      "unknown command 'backup'; the commands are snapshot, restore, verify, ls, prune, drill"
  },
  {
    input: 'command',
    value: 'snapshto',
    argv: ['snapshto'],
    message: "unknown command 'snapshto'; did you mean snapshot?"
  },
  // store
  {
    input: 'store',
    value: 'gcs:bucket/snapshots',
    inputs: { store: 'gcs:bucket/snapshots' },
    message: `Invalid store 'gcs:bucket/snapshots'. 'gcs:' is no kind of store this tool has: ${EXPECT_STORE}`
  },
  {
    input: 'store',
    value: 's3:bucket',
    inputs: { store: 's3:bucket' },
    message: `Invalid store 's3:bucket'. 's3:' is no kind of store this tool has: ${EXPECT_STORE}`
  },
  {
    input: 'store',
    value: 'https://example.com/snapshots',
    inputs: { store: 'https://example.com/snapshots' },
    message:
      "Invalid store 'https://example.com/snapshots'. 'https:' is no kind of store this tool " +
      `has: ${EXPECT_STORE}`
  },
  {
    input: 'store',
    value: 'oci://127.0.0.1:5000',
    inputs: { store: 'oci://127.0.0.1:5000' },
    message: `Invalid store 'oci://127.0.0.1:5000'. It names no registry and repository. ${EXPECT_OCI}`
  },
  {
    input: 'store',
    value: 'oci://ghcr.io/Team/Snaps',
    inputs: { store: 'oci://ghcr.io/Team/Snaps' },
    message:
      "Invalid store 'oci://ghcr.io/Team/Snaps'. 'Team/Snaps' is no repository name: lowercase " +
      "letters, digits and '.', '_', '-' between them, in path components separated by '/'. " +
      EXPECT_OCI
  },
  {
    input: 'store',
    value: 'oci://ghcr.io/team/snaps:nightly',
    inputs: { store: 'oci://ghcr.io/team/snaps:nightly' },
    message:
      "Invalid store 'oci://ghcr.io/team/snaps:nightly'. The repository takes no tag or digest: " +
      `each snapshot is tagged with its id. ${EXPECT_OCI}`
  },
  {
    input: 'store',
    value: 'oci://ci:pa55word@ghcr.io/team/snaps',
    inputs: { store: 'oci://ci:pa55word@ghcr.io/team/snaps' },
    secret: true,
    message:
      "Invalid store 'oci://…@ghcr.io/team/snaps'. Credentials do not belong in the " +
      'store address: give registry-username and registry-password, or log in with docker ' +
      `login. ${EXPECT_OCI}`
  },
  {
    input: 'store',
    value: 'oci://ghcr.io:99999/team/snaps',
    inputs: { store: 'oci://ghcr.io:99999/team/snaps' },
    message: `Invalid store 'oci://ghcr.io:99999/team/snaps'. 'ghcr.io:99999' is no registry host. ${EXPECT_OCI}`
  },
  {
    input: 'store',
    value: 'dir:',
    inputs: { store: 'dir:' },
    message: "Invalid store 'dir:'. The directory path is empty: expected dir:PATH or a path."
  },
  {
    input: 'store',
    value: 'dir:   ',
    inputs: { store: 'dir:   ' },
    message: "Invalid store 'dir:'. The directory path is empty: expected dir:PATH or a path."
  },
  {
    input: 'store',
    value: '',
    argv: ['snapshot', '--store='],
    message:
      '--store is empty. Expected a value, or no --store for its default (artifact inside ' +
      "GitHub Actions, '.docker-snapshots' elsewhere)."
  },
  {
    input: 'store',
    value: '',
    argv: ['ls', '--store'],
    message: 'missing value for --store; write --store VALUE or --store=VALUE'
  },
  {
    input: 'store',
    value: '',
    argv: ['prune', '--keep', '1', '--store', '/a', '--store', '/b'],
    message: '--store given more than once; expected it once'
  },
  {
    input: 'retention-days',
    value: '0',
    inputs: { store: 'artifact', 'retention-days': '0' },
    message: "Invalid retention-days '0'. Expected a whole number of days from 1 to 90."
  },
  {
    input: 'retention-days',
    value: '7',
    inputs: { store: '/srv/snapshots', 'retention-days': '7' },
    message:
      "retention-days '7' is set, but the store is the directory /srv/snapshots: retention-days is " +
      'for store: artifact. Expected store: artifact, or no retention-days.'
  },
  {
    input: 'run-id',
    value: 'last',
    inputs: { mode: 'restore', store: 'artifact', 'run-id': 'last' },
    message: "Invalid run-id 'last'. Expected a workflow run id: a positive whole number."
  },
  {
    input: 'run-repository',
    value: 'app',
    inputs: { mode: 'restore', store: 'artifact', 'run-repository': 'app' },
    message: "Invalid run-repository 'app'. Expected owner/name, like octo-org/app."
  },
  {
    input: 'github-token',
    value: GITHUB_TOKEN,
    secret: true,
    inputs: { mode: 'restore', store: 'cache', 'github-token': GITHUB_TOKEN },
    message:
      'github-token is set, but the store is cache: github-token is for store: artifact. ' +
      'Expected store: artifact, or no github-token.'
  },
  {
    input: 'cache-key',
    value: 'db key',
    inputs: { store: 'cache', 'cache-key': 'db key' },
    message:
      "Invalid cache-key 'db key'. Expected a key of at most 200 characters without commas or " +
      'white space.'
  },
  // snapshot-id
  {
    input: 'snapshot-id',
    value: 'latest',
    inputs: { 'snapshot-id': 'latest' },
    message:
      "Invalid snapshot-id 'latest': a new snapshot needs its own id. Expected a new id, or " +
      'nothing for a time-based one.'
  },
  {
    input: 'snapshot-id',
    value: 'My Snapshot',
    inputs: { mode: 'restore', 'snapshot-id': 'My Snapshot' },
    message: `Invalid snapshot-id 'My Snapshot'. It cannot name a snapshot: it starts with 'M'. ${EXPECT_ID}`
  },
  {
    input: 'snapshot-id',
    value: 'nightly 2',
    inputs: { mode: 'verify', 'snapshot-id': 'nightly 2' },
    message: `Invalid snapshot-id 'nightly 2'. It cannot name a snapshot: it holds white space. ${EXPECT_ID}`
  },
  {
    input: 'snapshot-id',
    value: '../etc',
    inputs: { mode: 'restore', 'snapshot-id': '../etc' },
    message: `Invalid snapshot-id '../etc'. It cannot name a snapshot: it starts with '.'. ${EXPECT_ID}`
  },
  {
    input: 'snapshot-id',
    value: '..',
    inputs: { mode: 'verify', 'snapshot-id': '..' },
    message: `Invalid snapshot-id '..'. It cannot name a snapshot: it starts with '.'. ${EXPECT_ID}`
  },
  {
    input: 'snapshot-id',
    value: 'team/nightly',
    inputs: { 'snapshot-id': 'team/nightly' },
    message: `Invalid snapshot-id 'team/nightly'. It cannot name a snapshot: it holds '/'. ${EXPECT_ID}`
  },
  {
    input: 'snapshot-id',
    value: LONG_ID,
    label: "'a' × 129",
    inputs: { 'snapshot-id': LONG_ID },
    message:
      `Invalid snapshot-id '${'a'.repeat(40)}…' (129 characters). It cannot name a snapshot: it ` +
      `has 129 characters. ${EXPECT_ID}`
  },
  // docker-host
  {
    input: 'docker-host',
    value: 'localhost:2375',
    inputs: { 'docker-host': 'localhost:2375' },
    message: `Invalid docker-host 'localhost:2375': the scheme 'localhost' is not supported. ${EXPECT_HOST}`
  },
  {
    input: 'docker-host',
    value: 'http://127.0.0.1:2375',
    inputs: { 'docker-host': 'http://127.0.0.1:2375' },
    message: `Invalid docker-host 'http://127.0.0.1:2375': the scheme 'http' is not supported. ${EXPECT_HOST}`
  },
  {
    input: 'docker-host',
    value: 'unix://var/run/docker.sock',
    inputs: { 'docker-host': 'unix://var/run/docker.sock' },
    message: `Invalid docker-host 'unix://var/run/docker.sock': the socket path must be absolute. ${EXPECT_HOST}`
  },
  {
    input: 'docker-host',
    value: 'tcp://',
    inputs: { 'docker-host': 'tcp://' },
    message: `Invalid docker-host 'tcp://': no host. ${EXPECT_HOST}`
  },
  {
    input: 'docker-host',
    value: 'tcp://127.0.0.1:2376/v1',
    inputs: { 'docker-host': 'tcp://127.0.0.1:2376/v1' },
    message: `Invalid docker-host 'tcp://127.0.0.1:2376/v1': a path after the host. ${EXPECT_HOST}`
  },
  // what to snapshot
  {
    input: 'containers',
    value: 'my app',
    inputs: { containers: 'web,my app' },
    message: `Invalid containers 'my app'. ${EXPECT_NAMES('container', ' or ids')}`
  },
  {
    input: 'containers',
    value: 'db;reboot',
    inputs: { containers: 'db;reboot' },
    message: `Invalid containers 'db;reboot'. ${EXPECT_NAMES('container', ' or ids')}`
  },
  {
    input: 'compose-project',
    value: 'My Shop',
    inputs: { 'compose-project': 'My Shop' },
    message:
      "Invalid compose-project 'My Shop'. No compose project has that name: expected lowercase " +
      "letters, digits, '_' or '-', starting with a letter or digit."
  },
  {
    input: 'compose-project',
    value: 'shop/web',
    inputs: { 'compose-project': 'shop/web' },
    message:
      "Invalid compose-project 'shop/web'. No compose project has that name: expected lowercase " +
      "letters, digits, '_' or '-', starting with a letter or digit."
  },
  {
    input: 'labels',
    value: '=prod',
    inputs: { labels: 'tier=db,=prod' },
    message: `Invalid labels '=prod'. The key is empty: ${EXPECT_LABELS}`
  },
  {
    input: 'labels',
    value: 'my tier=db',
    inputs: { labels: 'my tier=db' },
    message: `Invalid labels 'my tier=db'. The key holds white space: ${EXPECT_LABELS}`
  },
  {
    input: 'all',
    value: 'maybe',
    inputs: { all: 'maybe' },
    message: `Invalid all 'maybe'. ${EXPECT_BOOL}`
  },
  {
    input: 'all',
    value: '',
    argv: ['snapshot', '--all='],
    message: "--all is empty. Expected a value, or no --all for its default 'false'."
  },
  {
    input: 'all',
    value: 'true',
    argv: ['snapshot', '--no-all=true'],
    message: "--no-all takes no value, but was given 'true'; write --no-all alone, or --all=VALUE"
  },
  {
    input: 'volumes',
    value: '/srv/data',
    inputs: { volumes: '/srv/data' },
    message: `Invalid volumes '/srv/data'. ${EXPECT_NAMES('volume')}`
  },
  {
    input: 'exclude-volumes',
    value: 'cache dir',
    inputs: { 'exclude-volumes': 'cache dir' },
    message: `Invalid exclude-volumes 'cache dir'. ${EXPECT_NAMES('volume')}`
  },
  // how to snapshot
  {
    input: 'consistency',
    value: 'freeze',
    inputs: { consistency: 'freeze' },
    message: "Invalid consistency 'freeze'. Expected one of: none, pause, stop."
  },
  {
    input: 'consistency',
    value: '',
    argv: ['snapshot', '--consistency', ''],
    message:
      "--consistency is empty. Expected a value, or no --consistency for its default 'pause'."
  },
  {
    input: 'commit',
    value: 'on',
    inputs: { commit: 'on' },
    message: `Invalid commit 'on'. ${EXPECT_BOOL}`
  },
  {
    input: 'keep-images',
    value: 'yes please',
    inputs: { 'keep-images': 'yes please' },
    message: `Invalid keep-images 'yes please'. ${EXPECT_BOOL}`
  },
  {
    input: 'bind-mounts',
    value: 'copy',
    inputs: { 'bind-mounts': 'copy' },
    message: "Invalid bind-mounts 'copy'. Expected one of: record, capture."
  },
  {
    input: 'compression',
    value: 'xz',
    inputs: { compression: 'xz' },
    message: "Invalid compression 'xz'. Expected one of: auto, zstd, gzip."
  },
  {
    input: 'copy-method',
    value: 'rsync',
    inputs: { 'copy-method': 'rsync' },
    message: "Invalid copy-method 'rsync'. Expected one of: auto, helper, archive."
  },
  {
    input: 'copy-method',
    value: 'Helper',
    inputs: { 'copy-method': 'Helper' },
    message: "Invalid copy-method 'Helper'. Expected one of: auto, helper, archive."
  },
  {
    input: 'compression-level',
    value: 'high',
    inputs: { 'compression-level': 'high' },
    message: `Invalid compression-level 'high'. ${EXPECT_LEVEL('1 to 19', 'auto')}`
  },
  {
    input: 'compression-level',
    value: '0',
    inputs: { 'compression-level': '0' },
    message: `Invalid compression-level '0'. ${EXPECT_LEVEL('1 to 19', 'auto')}`
  },
  {
    input: 'compression-level',
    value: '-1',
    inputs: { 'compression-level': '-1' },
    message: `Invalid compression-level '-1'. ${EXPECT_LEVEL('1 to 19', 'auto')}`
  },
  {
    input: 'compression-level',
    value: '2.5',
    inputs: { compression: 'zstd', 'compression-level': '2.5' },
    message: `Invalid compression-level '2.5'. ${EXPECT_LEVEL('1 to 19', 'zstd')}`
  },
  {
    input: 'compression-level',
    value: '25',
    inputs: { 'compression-level': '25' },
    message: `Invalid compression-level '25'. ${EXPECT_LEVEL('1 to 19', 'auto')}`
  },
  {
    input: 'compression-level',
    value: '12',
    inputs: { compression: 'gzip', 'compression-level': '12' },
    message: `Invalid compression-level '12'. ${EXPECT_LEVEL('1 to 9', 'gzip')}`
  },
  {
    input: 'compression-level',
    value: HUGE,
    inputs: { 'compression-level': HUGE },
    message: `Invalid compression-level '${HUGE}'. ${EXPECT_LEVEL('1 to 19', 'auto')}`
  },
  {
    input: 'hook-timeout',
    value: '10s',
    inputs: { 'hook-timeout': '10s' },
    message: "Invalid hook-timeout '10s'. Expected a positive whole number of seconds."
  },
  {
    input: 'hook-timeout',
    value: '0',
    inputs: { 'hook-timeout': '0' },
    message: "Invalid hook-timeout '0'. Expected a positive whole number of seconds."
  },
  {
    input: 'hook-timeout',
    value: '-5',
    inputs: { 'hook-timeout': '-5' },
    message: "Invalid hook-timeout '-5'. Expected a positive whole number of seconds."
  },
  {
    input: 'hook-timeout',
    value: '2147484',
    inputs: { 'hook-timeout': '2147484' },
    message: `Invalid hook-timeout '2147484'. ${TIMER_LIMIT}`
  },
  {
    input: 'replace-snapshot',
    value: 'always',
    inputs: { 'replace-snapshot': 'always' },
    message: `Invalid replace-snapshot 'always'. ${EXPECT_BOOL}`
  },
  // registry
  {
    input: 'registry',
    value: 'https://ghcr.io',
    inputs: { registry: 'https://ghcr.io' },
    message: `Invalid registry 'https://ghcr.io'. ${EXPECT_REGISTRY}`
  },
  {
    input: 'registry',
    value: 'ghcr.io/team',
    inputs: { registry: 'ghcr.io/team' },
    message: `Invalid registry 'ghcr.io/team'. ${EXPECT_REGISTRY}`
  },
  {
    input: 'registry',
    value: 'localhost:http',
    inputs: { registry: 'localhost:http' },
    message: `Invalid registry 'localhost:http'. ${EXPECT_REGISTRY}`
  },
  {
    input: 'registry',
    value: 'localhost:99999',
    inputs: { registry: 'localhost:99999' },
    message: `Invalid registry 'localhost:99999'. Port 99999 is out of range: ${EXPECT_REGISTRY}`
  },
  {
    input: 'registry',
    value: ':5000',
    inputs: { registry: ':5000' },
    message: `Invalid registry ':5000'. ${EXPECT_REGISTRY}`
  },
  {
    input: 'repository',
    value: 'Team/Snapshots',
    inputs: { ...REGISTRY, repository: 'Team/Snapshots' },
    message: `Invalid repository 'Team/Snapshots'. ${EXPECT_REPOSITORY}`
  },
  {
    input: 'repository',
    value: 'team//snapshots',
    inputs: { ...REGISTRY, repository: 'team//snapshots' },
    message: `Invalid repository 'team//snapshots'. ${EXPECT_REPOSITORY}`
  },
  {
    input: 'repository',
    value: 'team/snapshots:v1',
    inputs: { repository: 'team/snapshots:v1' },
    message: `Invalid repository 'team/snapshots:v1'. ${EXPECT_REPOSITORY}`
  },
  {
    input: 'repository',
    value: 'Bad',
    inputs: { ...REGISTRY, repository: 'Bad', 'registry-password': PASSWORD },
    message: `Invalid repository 'Bad'. ${EXPECT_REPOSITORY}`
  },
  {
    input: 'registry',
    value: '',
    inputs: { 'registry-username': 'ci' },
    message:
      'registry-username is set but registry is empty: credentials for no registry. Expected ' +
      'registry (host:port) or an oci:// store as well, or no registry-username.'
  },
  {
    input: 'registry-username',
    value: 'ci:bot',
    inputs: { ...REGISTRY, 'registry-username': 'ci:bot' },
    message:
      "Invalid registry-username 'ci:bot'. Expected a user name without ':' or white space, as " +
      'registries take it.'
  },
  {
    input: 'registry-password',
    value: PASSWORD,
    secret: true,
    inputs: { 'registry-password': PASSWORD },
    message:
      'registry-password is set but registry is empty: credentials for no registry. Expected ' +
      'registry (host:port) or an oci:// store as well, or no registry-password.'
  },
  // encryption
  {
    input: 'encryption-passphrase',
    value: SHORT_PASSPHRASE,
    secret: true,
    inputs: { 'encryption-passphrase': SHORT_PASSPHRASE },
    message:
      'Invalid encryption-passphrase: it is shorter than 8 characters (the value is not shown). ' +
      'Expected a passphrase of at least 8 characters: random words or letters, as anyone who ' +
      'gets the store can try to guess it.'
  },
  {
    input: 'encryption-recipients',
    value: 'age1notakey',
    inputs: { 'encryption-recipients': `${RECIPIENT},age1notakey` },
    message: `Invalid encryption-recipients 'age1notakey'. ${EXPECT_RECIPIENTS}`
  },
  {
    input: 'encryption-recipients',
    value: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG',
    inputs: { 'encryption-recipients': 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG' },
    message:
      "Invalid encryption-recipients 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG'. SSH keys are " +
      `not supported here. ${EXPECT_RECIPIENTS}`
  },
  {
    input: 'encryption-identity',
    value: BAD_IDENTITY,
    secret: true,
    inputs: { mode: 'restore', 'encryption-identity': BAD_IDENTITY },
    message: `Invalid encryption-identity: it is not a valid age private key ${EXPECT_IDENTITY}`
  },
  {
    input: 'encryption-identity',
    value: '/nonexistent/age-key.txt',
    secret: true,
    inputs: { mode: 'verify', 'encryption-identity': '/nonexistent/age-key.txt' },
    message:
      'Invalid encryption-identity: it is no key, and no file can be read at that path ' +
      `(ENOENT) ${EXPECT_IDENTITY}`
  },
  // restore
  {
    input: 'on-conflict',
    value: 'overwrite',
    inputs: { mode: 'restore', 'on-conflict': 'overwrite' },
    message: "Invalid on-conflict 'overwrite'. Expected one of: fail, replace, skip."
  },
  {
    input: 'prefix',
    value: '-copy',
    inputs: { mode: 'restore', prefix: '-copy' },
    message: `Invalid prefix '-copy'. ${EXPECT_PREFIX}`
  },
  {
    input: 'prefix',
    value: 'a/b',
    inputs: { mode: 'restore', prefix: 'a/b' },
    message: `Invalid prefix 'a/b'. ${EXPECT_PREFIX}`
  },
  {
    input: 'only-containers',
    value: 'web x',
    inputs: { mode: 'restore', 'only-containers': 'db,,web x' },
    message: `Invalid only-containers 'web x'. ${EXPECT_NAMES('container', ' or ids')}`
  },
  {
    input: 'only-volumes',
    value: '../pgdata',
    inputs: { mode: 'restore', 'only-volumes': '../pgdata' },
    message: `Invalid only-volumes '../pgdata'. ${EXPECT_NAMES('volume')}`
  },
  {
    input: 'start',
    value: '2',
    inputs: { mode: 'restore', start: '2' },
    message: `Invalid start '2'. ${EXPECT_BOOL}`
  },
  {
    input: 'wait-timeout',
    value: '1.5',
    inputs: { mode: 'restore', 'wait-timeout': '1.5' },
    message: "Invalid wait-timeout '1.5'. Expected a positive whole number of seconds."
  },
  {
    input: 'wait-timeout',
    value: '-1',
    inputs: { mode: 'verify', 'wait-timeout': '-1' },
    message: "Invalid wait-timeout '-1'. Expected a positive whole number of seconds."
  },
  {
    input: 'wait-timeout',
    value: '99999999999',
    inputs: { mode: 'restore', 'wait-timeout': '99999999999' },
    message: `Invalid wait-timeout '99999999999'. ${TIMER_LIMIT}`
  },
  {
    input: 'ports',
    value: 'random',
    inputs: { mode: 'restore', ports: 'random' },
    message: "Invalid ports 'random'. Expected one of: keep, ephemeral, none."
  },
  {
    input: 'env',
    value: ENV_VALUE,
    secret: true,
    inputs: { mode: 'restore', env: `A=1\n\n${ENV_VALUE}` },
    message: `Invalid env line 3: it has no '=' ${EXPECT_ENV}`
  },
  {
    input: 'env',
    value: ENV_VALUE,
    secret: true,
    inputs: { mode: 'restore', env: `=${ENV_VALUE}` },
    message: `Invalid env line 1: nothing comes before '=' ${EXPECT_ENV}`
  },
  {
    input: 'env',
    value: ENV_VALUE,
    secret: true,
    inputs: { mode: 'verify', env: `MY VAR=${ENV_VALUE}` },
    message: `Invalid env line 1: what comes before '=' is not a variable name ${EXPECT_ENV}`
  },
  {
    input: 'env',
    value: ENV_VALUE,
    secret: true,
    inputs: { mode: 'restore', env: `1PASSWORD=${ENV_VALUE}` },
    message: `Invalid env line 1: what comes before '=' is not a variable name ${EXPECT_ENV}`
  },
  {
    input: 'keep-on-failure',
    value: 'sometimes',
    inputs: { mode: 'restore', 'keep-on-failure': 'sometimes' },
    message: `Invalid keep-on-failure 'sometimes'. ${EXPECT_BOOL}`
  },
  // verify
  {
    input: 'restore-check',
    value: 'y',
    inputs: { mode: 'verify', 'restore-check': 'y' },
    message: `Invalid restore-check 'y'. ${EXPECT_BOOL}`
  },
  {
    input: 'drill-command',
    value: '',
    inputs: { mode: 'verify', 'drill-container': 'db' },
    message:
      'drill-command is empty, but drill-container is set: they go together. Expected the ' +
      'container and the command to run in it, or neither.'
  },
  {
    input: 'drill-container',
    value: 'my db',
    inputs: { mode: 'verify', 'drill-container': 'my db', 'drill-command': 'true' },
    message: `Invalid drill-container 'my db'. ${EXPECT_NAMES('container', ' or ids')}`
  },
  {
    input: 'drill-container',
    value: '',
    inputs: { mode: 'verify', 'drill-container': '  ', 'drill-command': 'pg_isready' },
    message:
      'drill-container is empty, but drill-command is set: they go together. Expected the ' +
      'container and the command to run in it, or neither.'
  },
  // prune
  {
    input: 'keep',
    value: '',
    inputs: { mode: 'prune' },
    message:
      'prune needs a rule, but keep and older-than are both empty. Expected keep (a count), ' +
      'older-than (a duration), or both.'
  },
  {
    input: 'keep',
    value: '0',
    inputs: { mode: 'prune', keep: '0' },
    message: "Invalid keep '0'. Expected a positive whole number of snapshots."
  },
  {
    input: 'keep',
    value: 'five',
    inputs: { mode: 'prune', keep: 'five' },
    message: "Invalid keep 'five'. Expected a positive whole number of snapshots."
  },
  {
    input: 'keep',
    value: HUGE,
    inputs: { mode: 'prune', keep: HUGE },
    message: `Invalid keep '${HUGE}'. Too large: expected at most 9007199254740991 snapshots.`
  },
  {
    input: 'older-than',
    value: '7',
    inputs: { mode: 'prune', 'older-than': '7' },
    message: `Invalid older-than '7'. ${EXPECT_DURATION}`
  },
  {
    input: 'older-than',
    value: 'a week',
    inputs: { mode: 'prune', 'older-than': 'a week' },
    message: `Invalid older-than 'a week'. ${EXPECT_DURATION}`
  },
  {
    input: 'older-than',
    value: '0d',
    inputs: { mode: 'prune', 'older-than': '0d' },
    message: `Invalid older-than '0d'. ${EXPECT_DURATION}`
  },
  {
    input: 'older-than',
    value: '1000000w',
    inputs: { mode: 'prune', 'older-than': '1000000w' },
    message: "Invalid older-than '1000000w'. Too long: expected at most 36500d (a hundred years)."
  },
  // the CLI's own flags
  {
    input: 'demo',
    value: 'maybe',
    argv: ['drill', '--demo=maybe'],
    message: 'invalid --demo=maybe; expected true or false'
  },
  {
    input: 'destroy',
    value: 'yes',
    argv: ['drill', '--destroy=yes'],
    message: 'invalid --destroy=yes; expected true or false'
  },
  {
    input: 'json',
    value: 'yes',
    argv: ['ls', '--json=yes'],
    message: "--json takes no value, but was given 'yes'; write --json alone"
  },
  {
    input: 'quiet',
    value: '1',
    argv: ['snapshot', '--quiet=1'],
    message: "--quiet takes no value, but was given '1'; write --quiet alone"
  },
  {
    input: 'help',
    value: 'me',
    argv: ['snapshot', '--help=me'],
    message: "--help takes no value, but was given 'me'; write --help alone"
  },
  {
    input: 'contaners',
    value: '',
    argv: ['snapshot', '--contaners', 'db'],
    message: 'unknown flag --contaners for snapshot; did you mean --containers?'
  }
]
