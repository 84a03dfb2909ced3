import { execFileSync } from 'node:child_process'

/**
 * Integration tests need the real engine, registry and local images (`scripts/testbed.sh up`).
 * When they are missing the suite fails here, loudly: it never skips.
 */
export default function checkTestbed() {
  const registry = process.env.DOCKER_SNAPSHOT_TEST_REGISTRY ?? '127.0.0.1:5000'
  const problems: string[] = []
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore' })
  } catch {
    problems.push(`no Docker engine answers (DOCKER_HOST=${process.env.DOCKER_HOST ?? 'unset'})`)
  }
  try {
    execFileSync('curl', ['-fsS', '-o', '/dev/null', '--max-time', '3', `http://${registry}/v2/`])
  } catch {
    problems.push(`no registry answers at ${registry}`)
  }
  if (problems.length === 0) {
    for (const image of ['docker-snapshot-test/busybox:1']) {
      try {
        execFileSync('docker', ['image', 'inspect', image], { stdio: 'ignore' })
      } catch {
        problems.push(`image ${image} is missing`)
      }
    }
  }
  if (problems.length > 0) {
    throw new Error(
      `The integration test bed is not ready: ${problems.join('; ')}. Run \`bash scripts/testbed.sh up\`.`
    )
  }
}
