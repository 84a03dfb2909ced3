// Generated from action.yml by scripts/package.mjs; do not edit.
export const INPUTS = {
  mode: {
    description: 'What to do: `snapshot`, `restore`, `verify` or `prune`.',
    default: 'snapshot'
  },
  store: {
    description:
      'Where snapshots live: `artifact` (workflow artifacts of the run: one per volume archive, saved image and manifest, each downloadable from the run page and opened with `zstd -d | tar x`), `cache` (the Actions cache), a registry repository `oci://HOST[:PORT]/REPOSITORY` (each snapshot an OCI artifact tagged with its id), or a directory path (or `dir:PATH`; write `./artifact` for a directory of that name). Empty: `artifact` inside GitHub Actions, `.docker-snapshots` elsewhere.',
    default: ''
  },
  'retention-days': {
    description:
      "store: artifact. Days the artifacts of a snapshot are kept (1-90). Empty uses the repository's setting.",
    default: ''
  },
  'run-id': {
    description:
      "store: artifact. Read the snapshots of this workflow run (its id, as in the run page's URL) instead of this run's. Empty: this run, and with `github-token` also the earlier runs of this workflow (newest first; `snapshot-id: latest` is the newest complete snapshot among them).",
    default: ''
  },
  'run-repository': {
    description:
      'store: artifact. The repository (`owner/name`) of the run to read. Empty: this repository.',
    default: ''
  },
  'github-token': {
    description:
      "store: artifact. A token with `actions: read` on the repository (the workflow's `github.token` will do), to read other runs' artifacts (and `actions: write` to prune them). Masked in logs; never saved. The CLI reads DOCKER_SNAPSHOT_GITHUB_TOKEN when it is not given (with --store).",
    default: ''
  },
  'cache-key': {
    description:
      'store: cache. The key prefix of snapshots: a snapshot is saved under `<cache-key>-<snapshot-id>`, and `snapshot-id: latest` restores the newest entry whose key starts with `<cache-key>-`. Archives are saved once per content, under their digest.',
    default: 'docker-snapshot'
  },
  'snapshot-id': {
    description:
      'Snapshot id. For snapshot: empty picks a time-based id. For restore and verify: an id, or `latest` for the newest complete snapshot in the store.',
    default: ''
  },
  'docker-host': {
    description:
      'Docker engine address, as the Docker CLI takes it: `unix:///var/run/docker.sock`, `tcp://host:2376` (TLS from DOCKER_TLS_VERIFY and DOCKER_CERT_PATH), `ssh://user@host`. Empty uses DOCKER_HOST, then the Docker context (DOCKER_CONTEXT or the current one), then the default socket.',
    default: ''
  },
  containers: {
    description: 'Containers to snapshot, by name or id, separated by commas or newlines.',
    default: ''
  },
  'compose-project': {
    description:
      'Snapshot every container of this compose project (label `com.docker.compose.project`).',
    default: ''
  },
  labels: {
    description:
      'Snapshot containers carrying all of these labels (`key` or `key=value`), separated by commas or newlines.',
    default: ''
  },
  all: {
    description: 'Snapshot every container on the engine (`true` or `false`).',
    default: 'false'
  },
  volumes: {
    description: 'Extra named volumes to snapshot besides those the containers mount.',
    default: ''
  },
  'exclude-volumes': {
    description:
      'Named volumes to leave out (a cache, say). One that a container mounts is recorded but not copied: a restore gives the container a new empty volume of that name.',
    default: ''
  },
  consistency: {
    description:
      "How containers are held still while they are copied: `pause` (default), `stop`, or `none`. A container's `docker-snapshot.consistency` label overrides it.",
    default: 'pause'
  },
  commit: {
    description:
      "Commit each container's filesystem into an image (`true` or `false`). A container's `docker-snapshot.commit` label overrides it.",
    default: 'true'
  },
  'keep-images': {
    description:
      'Keep on the engine the images a snapshot commits or tags (`true` or `false`). By default each is removed once it is pushed or saved into the store, and when the run fails.',
    default: 'false'
  },
  'bind-mounts': {
    description: '`record` bind mounts in the manifest, or `capture` their contents as well.',
    default: 'record'
  },
  compression: {
    description: 'Archive compression: `auto` (zstd when available, else gzip), `zstd` or `gzip`.',
    default: 'auto'
  },
  'compression-level': {
    description: 'Compression level (zstd 1-19, gzip 1-9). Empty uses 3 for zstd and 6 for gzip.',
    default: ''
  },
  'copy-method': {
    description:
      "How volumes are copied: `auto` (a helper container next to the data, built from this host's own tar, zstd and gzip, when the engine is local; else the engine's archive API), `helper` (fail when it cannot run) or `archive` (the engine's archive API, which does not keep extended attributes other than security.capability, POSIX ACLs or sparse files).",
    default: 'auto'
  },
  'hook-timeout': {
    description: 'Seconds a pre- or post-exec hook may run before it counts as failed.',
    default: '60'
  },
  'replace-snapshot': {
    description:
      'Snapshot: when the store already holds a snapshot with this snapshot-id, replace it (`true`) or refuse before touching anything (`false`). The old one is removed only once the new one is whole; a failed run leaves it as it was.',
    default: 'false'
  },
  registry: {
    description:
      'Registry for committed and locally built images (`host:port`). Empty saves images into the store instead.',
    default: ''
  },
  repository: {
    description:
      'Repository in the registry that snapshot images are pushed to; tags name the snapshot and the container.',
    default: 'docker-snapshot'
  },
  'registry-username': {
    description:
      "Registry user name, for the registry input and an `oci://` store on the same host (or alone). Empty uses the Docker config's credentials (credential helpers included), or none.",
    default: ''
  },
  'registry-password': {
    description: 'Registry password or token (masked in logs).',
    default: ''
  },
  'encryption-passphrase': {
    description:
      'Snapshot: encrypt the snapshot (volume archives, saved images, manifest) with this passphrase, in the age format (masked in logs). Restore, verify: the passphrase an encrypted snapshot was taken with. Secret-looking environment values are kept in an encrypted manifest, so its restore needs no `env`.',
    default: ''
  },
  'encryption-recipients': {
    description:
      'Snapshot: encrypt the snapshot to these age public keys (`age1…`, as age-keygen prints them), separated by commas or newlines; any of the private keys opens it.',
    default: ''
  },
  'encryption-identity': {
    description:
      'Restore, verify, ls: an age private key (`AGE-SECRET-KEY-1…`) or the path of a key file, to open an encrypted snapshot (masked in logs). Snapshot: also encrypts to its public key.',
    default: ''
  },
  'on-conflict': {
    description:
      'Restore when a container or volume of the same name exists: `fail` (default, nothing is changed), `replace`, or `skip`.',
    default: 'fail'
  },
  prefix: {
    description:
      'Restore under names with this prefix (containers, volumes, networks), beside the originals.',
    default: ''
  },
  'only-containers': {
    description: 'Restore only these containers (with their volumes and networks).',
    default: ''
  },
  'only-volumes': {
    description: 'Restore only these volumes.',
    default: ''
  },
  start: {
    description:
      'Start restored containers that were running when the snapshot was taken (`true` or `false`).',
    default: 'true'
  },
  'wait-timeout': {
    description:
      'Seconds to wait for each restored container to be running, or healthy when it has a healthcheck.',
    default: '120'
  },
  ports: {
    description:
      'Published ports on restore: `keep`, `ephemeral` (engine-chosen host ports; for restoring beside the originals), or `none`.',
    default: 'keep'
  },
  env: {
    description:
      'Values for environment variables left out of the manifest because they look secret, as `NAME=VALUE` lines (masked in logs). Needed only when the image does not carry them.',
    default: ''
  },
  'keep-on-failure': {
    description:
      'Restore: when it fails, keep the containers, volumes and networks it created (to read `docker logs` of a container that did not become healthy) instead of removing them (`true` or `false`).',
    default: 'false'
  },
  'restore-check': {
    description:
      'Verify: also restore into throwaway names, check the containers come up, and clean up (`true` or `false`).',
    default: 'false'
  },
  'drill-container': {
    description:
      'The container to run `drill-command` in. Verify: its name in the snapshot, run in a throwaway restore (implies restore-check). CLI drill: a compose service or container name, asked before the snapshot and after the restore.',
    default: ''
  },
  'drill-command': {
    description:
      'A shell command run in `drill-container`. Verify: it must exit 0. CLI drill: it must exit 0 and print the same after the restore as before.',
    default: ''
  },
  keep: {
    description: 'Prune: keep this many newest complete snapshots. Empty keeps all by count.',
    default: ''
  },
  'older-than': {
    description:
      'Prune: remove snapshots older than this (`30m`, `12h`, `7d`). Empty removes none by age.',
    default: ''
  }
} as const

export type InputName = keyof typeof INPUTS
