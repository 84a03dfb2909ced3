/**
 * Removes from `env` every variable whose value holds one of `secrets` (the action's `INPUT_*`,
 * the CLI's `DOCKER_SNAPSHOT_*`), so that no process this one starts (zstd, docker-compose, a
 * hook's shell) inherits them. Returns the names removed.
 */
export function dropSecretVariables(env: NodeJS.ProcessEnv, secrets: readonly string[]): string[] {
  const dropped: string[] = []
  for (const [name, value] of Object.entries(env)) {
    if (value && secrets.some(secret => secret && value.includes(secret))) {
      Reflect.deleteProperty(env, name)
      dropped.push(name)
    }
  }
  return dropped
}
