import { describe, expect, it } from 'vitest'
import { describeSecretEnv, secretEnvReport } from '../../../src/snapshot/secret-env.js'
import { containerRecord, imageRecord, manifestOf } from '../restore/fixtures.js'

const SECRET = 'value-that-must-not-show'

describe('secretEnvReport', () => {
  it('names the withheld variables, and the images that carry them where nothing encrypts', () => {
    const manifest = manifestOf({
      containers: [
        containerRecord('db', { redactedEnv: ['POSTGRES_PASSWORD'] }),
        containerRecord('web', { redactedEnv: ['API_TOKEN'], image: 'commit:web' }),
        containerRecord('cache', { image: 'source:redis' })
      ],
      images: [
        imageRecord('commit:db', { location: 'store' }),
        imageRecord('commit:web', { location: 'registry' }),
        imageRecord('source:redis', { role: 'source', location: 'local' })
      ]
    })
    const report = secretEnvReport(manifest, false)
    expect(report).toEqual({
      encrypted: false,
      withheld: [
        { container: 'db', variables: ['POSTGRES_PASSWORD'] },
        { container: 'web', variables: ['API_TOKEN'] }
      ],
      kept: [],
      inImages: [
        { image: 'commit:db', container: 'db', location: 'store' },
        { image: 'commit:web', container: 'web', location: 'registry' }
      ]
    })
    expect(describeSecretEnv(report)).toEqual([
      'Secret-looking environment values left out of the manifest (db: POSTGRES_PASSWORD; web: ' +
        'API_TOKEN): a restore takes them from its env setting, or from a committed image; an ' +
        'encrypted snapshot keeps them.',
      'Image commit:db holds the environment of db, secret-looking values included, in its ' +
        'image config, saved unencrypted into the store.',
      'Image commit:web holds the environment of web, secret-looking values included, in its ' +
        'image config, pushed to the registry.'
    ])
  })

  it('names the variables an encrypted manifest kept, never their values', () => {
    const manifest = manifestOf({
      containers: [
        containerRecord('db', {
          create: { Env: ['PATH=/bin', `POSTGRES_PASSWORD=${SECRET}`], HostConfig: {} }
        })
      ],
      images: [imageRecord('commit:db', { location: 'store' })]
    })
    const report = secretEnvReport(manifest, true)
    expect(report).toEqual({
      encrypted: true,
      withheld: [],
      kept: [{ container: 'db', variables: ['POSTGRES_PASSWORD'] }],
      inImages: []
    })
    const lines = describeSecretEnv(report)
    expect(lines).toEqual([
      'Secret-looking environment values kept in the encrypted manifest (db: ' +
        'POSTGRES_PASSWORD): a restore needs no env setting for them.'
    ])
    expect(lines.join('\n')).not.toContain(SECRET)
  })
})
