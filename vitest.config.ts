import { defineConfig } from 'vitest/config'

// Two suites: fast unit tests of pure logic, and integration tests that drive the real
// engine and registry (one worker, long timeouts, since they share one Docker engine).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['__tests__/unit/**/*.test.ts'],
          testTimeout: 20_000,
          // GitHub's workflow parser imports its JSON schemas without import attributes, as
          // bundlers allow and Node does not: let Vite load it.
          server: { deps: { inline: ['@actions/workflow-parser'] } }
        }
      },
      {
        test: {
          name: 'integration',
          include: ['__tests__/integration/**/*.test.ts'],
          testTimeout: 600_000,
          hookTimeout: 600_000,
          fileParallelism: false,
          globalSetup: ['__tests__/integration/global-setup.ts']
        }
      }
    ]
  }
})
