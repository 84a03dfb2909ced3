import { describe, expect, it } from 'vitest'
import type { ContainerCreateSpec } from '../../../src/docker/types.js'
import { createConflicts } from '../../../src/verify/create-check.js'

function spec(config: Record<string, unknown>, host: Record<string, unknown>): ContainerCreateSpec {
  return { name: 'web', Image: 'busybox', ...config, HostConfig: host }
}

const shared = { NetworkMode: 'container:db' }

describe('createConflicts', () => {
  it.each([
    [
      'a hostname',
      spec({ Hostname: 'db-host' }, shared),
      'Hostname cannot be set with network mode container:db'
    ],
    ['a domain', spec({ Domainname: 'example.org' }, shared), 'Domainname cannot be set'],
    [
      'a MAC address',
      spec({ MacAddress: '02:42:ac:11:00:02' }, shared),
      'MacAddress cannot be set'
    ],
    [
      'exposed ports',
      spec({ ExposedPorts: { '80/tcp': {} } }, shared),
      'ExposedPorts cannot be set'
    ],
    ['links', spec({}, { ...shared, Links: ['/db:/web/db'] }), 'HostConfig.Links cannot be set'],
    ['DNS servers', spec({}, { ...shared, Dns: ['1.1.1.1'] }), 'HostConfig.Dns cannot be set'],
    ['extra hosts', spec({}, { ...shared, ExtraHosts: ['a:1.2.3.4'] }), 'HostConfig.ExtraHosts'],
    [
      'published ports',
      spec({}, { ...shared, PortBindings: { '80/tcp': [{ HostPort: '8080' }] } }),
      'HostConfig.PortBindings'
    ],
    ['publish-all', spec({}, { ...shared, PublishAllPorts: true }), 'HostConfig.PublishAllPorts'],
    [
      'a MAC address on host',
      spec({ MacAddress: '02:42:ac:11:00:02' }, { NetworkMode: 'host' }),
      'MacAddress cannot be set with network mode host'
    ],
    [
      'links on host',
      spec({}, { NetworkMode: 'host', Links: ['/db:/web/db'] }),
      'HostConfig.Links cannot be set with network mode host'
    ],
    [
      'an empty container: mode',
      spec({}, { NetworkMode: 'container:' }),
      "network mode 'container:' names no container"
    ],
    [
      'auto-remove with a restart policy',
      spec({}, { AutoRemove: true, RestartPolicy: { Name: 'always' } }),
      'HostConfig.AutoRemove cannot be set with restart policy always'
    ],
    [
      'a retry count without on-failure',
      spec({}, { RestartPolicy: { Name: 'always', MaximumRetryCount: 3 } }),
      'a maximum retry count cannot be set with restart policy always'
    ],
    [
      'an unknown restart policy',
      spec({}, { RestartPolicy: { Name: 'sometimes' } }),
      "restart policy 'sometimes' is not one the engine knows"
    ],
    [
      'a relative working directory',
      spec({ WorkingDir: 'data' }, {}),
      "WorkingDir 'data' is not an absolute path"
    ]
  ])('refuses %s', (_what, body, message) => {
    const conflicts = createConflicts(body)
    expect(conflicts).toHaveLength(1)
    expect(conflicts[0]).toContain(message)
  })

  it.each([
    [
      'what docker inspect shows of a plain container',
      spec(
        { Hostname: 'web', ExposedPorts: { '80/tcp': {} }, WorkingDir: '/srv' },
        {
          NetworkMode: 'bridge',
          PortBindings: { '80/tcp': [{ HostPort: '' }] },
          RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 },
          AutoRemove: false
        }
      )
    ],
    [
      'a container: mode with empty fields as the engine writes them',
      spec(
        { Hostname: '', ExposedPorts: {} },
        {
          ...shared,
          Links: null,
          Dns: [],
          ExtraHosts: null,
          PortBindings: {},
          PublishAllPorts: false
        }
      )
    ],
    [
      'on-failure with retries',
      spec({}, { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 5 } })
    ],
    [
      'a hostname on host networking (engines of API 1.41 allow it)',
      spec({ Hostname: 'h' }, { NetworkMode: 'host' })
    ]
  ])('accepts %s', (_what, body) => {
    expect(createConflicts(body)).toEqual([])
  })
})
