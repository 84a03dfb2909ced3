import { spawn, type ChildProcess } from 'node:child_process'
import { createRequire } from 'node:module'
import { once } from 'node:events'
import {
  BlobSASPermissions,
  BlobServiceClient,
  StorageSharedKeyCredential,
  generateBlobSASQueryParameters
} from '@azure/storage-blob'

/** Azurite's well-known development account (public, documented by Microsoft). */
const ACCOUNT = 'devstoreaccount1'
const ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

const STARTUP_TIMEOUT_MS = 30_000

export interface SignedBlobOptions {
  /** Read (download) or create/write (upload) rights. */
  access: 'read' | 'write'
  /** Sent back as the download's Content-Disposition, as GitHub's signed URLs do. */
  contentDisposition?: string
  expiresInMs?: number
}

/** An Azurite blob service in its own process, holding its data in `location`. */
export interface Azurite {
  /** `http://127.0.0.1:PORT/devstoreaccount1` (path-style, as Azurite wants on an IP host). */
  readonly accountUrl: string
  readonly blobs: BlobServiceClient
  /** A SAS-signed URL for one blob, the kind the results service hands to the clients. */
  signedBlobUrl(container: string, blob: string, options: SignedBlobOptions): string
  stop(): Promise<void>
}

/**
 * Starts Azurite's blob service from node_modules on a free loopback port, on the Node binary
 * running the tests (Azurite 3.37 needs Node >= 22), with telemetry off and the API version
 * check skipped (the Azure SDK in the clients may be newer than Azurite).
 */
export async function startAzurite(location: string): Promise<Azurite> {
  if (Number(process.versions.node.split('.')[0]) < 22) {
    throw new Error(
      `Azurite needs Node >= 22 and the tests run on Node ${process.versions.node}: run them with \`npx vitest\` (the node devDependency) or npm scripts`
    )
  }
  const main = createRequire(import.meta.url).resolve('azurite/dist/src/blob/main.js')
  const child = spawn(
    process.execPath,
    [
      main,
      '--blobHost',
      '127.0.0.1',
      '--blobPort',
      '0',
      '--location',
      location,
      '--skipApiVersionCheck',
      '--disableTelemetry',
      '--silent'
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] }
  )
  // a test process that ends without calling stop() does not leave Azurite running
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)
  const port = await listeningPort(child)
  const accountUrl = `http://127.0.0.1:${port}/${ACCOUNT}`
  const credential = new StorageSharedKeyCredential(ACCOUNT, ACCOUNT_KEY)
  return {
    accountUrl,
    blobs: new BlobServiceClient(accountUrl, credential),
    signedBlobUrl(container, blob, { access, contentDisposition, expiresInMs = 3_600_000 }) {
      const sas = generateBlobSASQueryParameters(
        {
          containerName: container,
          blobName: blob,
          permissions: BlobSASPermissions.parse(access === 'read' ? 'r' : 'cw'),
          expiresOn: new Date(Date.now() + expiresInMs),
          contentDisposition
        },
        credential
      )
      const path = blob.split('/').map(encodeURIComponent).join('/')
      return `${accountUrl}/${encodeURIComponent(container)}/${path}?${sas.toString()}`
    },
    async stop() {
      process.off('exit', killOnExit)
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = once(child, 'exit')
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
      await exited
      clearTimeout(timer)
    }
  }
}

/** Waits for Azurite's "listens on http://127.0.0.1:PORT" line; fails with its output if it dies. */
async function listeningPort(child: ChildProcess): Promise<number> {
  let output = ''
  return new Promise<number>((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer)
      child.kill('SIGKILL')
      reject(new Error(`Azurite did not start: ${why}. Its output:\n${output}`))
    }
    const timer = setTimeout(
      () => fail(`no answer in ${STARTUP_TIMEOUT_MS} ms`),
      STARTUP_TIMEOUT_MS
    )
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const match = /listens on http:\/\/127\.0\.0\.1:(\d+)/.exec(output)
      if (match) {
        clearTimeout(timer)
        child.off('exit', onExit)
        // keep draining its (silent) output without holding on to it
        child.stdout!.off('data', onData).resume()
        child.stderr!.off('data', onData).resume()
        resolve(Number(match[1]))
      }
    }
    const onExit = (code: number | null, signal: string | null) =>
      fail(`it exited (code ${code}, signal ${signal})`)
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.on('exit', onExit)
    child.on('error', error => fail(error.message))
  })
}
