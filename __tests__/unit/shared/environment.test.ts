import { describe, expect, it } from 'vitest'
import { dropSecretVariables } from '../../../src/shared/environment.js'

describe('dropSecretVariables', () => {
  it('removes every variable holding a secret, whole or in part, and nothing else', () => {
    const env: NodeJS.ProcessEnv = {
      PATH: '/usr/bin',
      'INPUT_ENCRYPTION-PASSPHRASE': 'correct horse battery',
      'INPUT_REGISTRY-PASSWORD': 'hunter22',
      INPUT_ENV: 'A=1\nDB_PASSWORD=s3cr3t-value',
      INPUT_STORE: '/srv/snapshots',
      EMPTY: ''
    }
    const dropped = dropSecretVariables(env, ['correct horse battery', 'hunter22', 's3cr3t-value'])
    expect(dropped.sort()).toEqual([
      'INPUT_ENCRYPTION-PASSPHRASE',
      'INPUT_ENV',
      'INPUT_REGISTRY-PASSWORD'
    ])
    expect(env).toEqual({ PATH: '/usr/bin', INPUT_STORE: '/srv/snapshots', EMPTY: '' })
  })
})
