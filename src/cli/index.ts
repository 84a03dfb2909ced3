#!/usr/bin/env node
import { errorMessage } from '../shared/errors.js'
import { main } from './main.js'

// main resolves with the exit code and never rejects; the catch is for a bug, so it still fails.
main(process.argv.slice(2)).then(
  code => {
    process.exitCode = code
  },
  (error: unknown) => {
    process.stderr.write(`error: ${errorMessage(error)}\n`)
    process.exitCode = 1
  }
)
