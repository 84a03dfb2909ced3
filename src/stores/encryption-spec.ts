import { readFileSync } from 'node:fs'
import { Decrypter, Encrypter, identityToRecipient } from 'age-encryption'
import { InvalidSettingsError, invalidInput } from '../shared/errors.js'

/**
 * The age keys of a run (see encrypted.ts). A snapshot is encrypted when any key is given: to
 * every recipient, to the public key of every identity, and under the passphrase. Reading takes
 * the identities and the passphrase.
 */
export interface EncryptionSpec {
  passphrase?: string
  /** Public keys, `age1…`. */
  recipients: string[]
  /** Private keys, `AGE-SECRET-KEY-1…`, read from the input or from the file it names. */
  identities: string[]
}

/** Whether a snapshot taken with these keys is encrypted. */
export function encrypts(spec: EncryptionSpec): boolean {
  return Boolean(spec.passphrase) || spec.recipients.length > 0 || spec.identities.length > 0
}

const RECIPIENT_EXPECTED =
  'Expected age public keys (age1…, as age-keygen prints them), separated by commas or newlines.'

function entries(value: string): string[] {
  return value
    .split(/[\n,]/)
    .map(item => item.trim())
    .filter(item => item && !item.startsWith('#'))
}

function checkRecipients(value: string): string[] {
  const recipients = entries(value)
  for (const recipient of recipients) {
    if (/^(ssh-|ecdsa-)/.test(recipient)) {
      throw invalidInput(
        'encryption-recipients',
        recipient,
        `SSH keys are not supported here. ${RECIPIENT_EXPECTED}`
      )
    }
    try {
      new Encrypter().addRecipient(recipient)
    } catch {
      throw invalidInput('encryption-recipients', recipient, RECIPIENT_EXPECTED)
    }
  }
  return recipients
}

const IDENTITY_EXPECTED =
  'Expected an age private key (AGE-SECRET-KEY-1…) or the path of a file holding such keys, ' +
  'as age-keygen writes it.'

/** The keys of the input, or of the file it names; the value is never shown (it may be a key). */
function readIdentities(value: string): string[] {
  const fault = (why: string) =>
    new InvalidSettingsError(
      `Invalid encryption-identity: ${why} (the value is not shown: it may be a key). ` +
        IDENTITY_EXPECTED
    )
  if (!value) return []
  let text = value
  if (!/^AGE-SECRET-KEY-/i.test(value)) {
    try {
      text = readFileSync(value, 'utf8')
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable'
      throw fault(`it is no key, and no file can be read at that path (${code})`)
    }
  }
  const identities = entries(text)
  if (identities.length === 0) throw fault('the file holds no key')
  for (const identity of identities) {
    try {
      new Decrypter().addIdentity(identity)
    } catch {
      throw fault('it is not a valid age private key')
    }
  }
  return identities
}

/** Shorter passphrases are guessed even through scrypt. */
const MIN_PASSPHRASE_LENGTH = 8

/** Reads the encryption inputs; `get` gives an input's raw value ('' when not given). */
export function parseEncryptionSpec(
  get: (name: 'encryption-passphrase' | 'encryption-recipients' | 'encryption-identity') => string
): EncryptionSpec {
  const spec: EncryptionSpec = {
    recipients: checkRecipients(get('encryption-recipients')),
    identities: readIdentities(get('encryption-identity').trim())
  }
  const passphrase = get('encryption-passphrase')
  if (passphrase && passphrase.length < MIN_PASSPHRASE_LENGTH) {
    throw new InvalidSettingsError(
      `Invalid encryption-passphrase: it is shorter than ${MIN_PASSPHRASE_LENGTH} characters ` +
        '(the value is not shown). Expected a passphrase of at least ' +
        `${MIN_PASSPHRASE_LENGTH} characters: random words or letters, as anyone who gets the ` +
        'store can try to guess it.'
    )
  }
  if (passphrase) spec.passphrase = passphrase
  return spec
}

/** The public keys a snapshot is encrypted to: the recipients and those of the identities. */
export async function recipientsOf(spec: EncryptionSpec): Promise<string[]> {
  const own = await Promise.all(spec.identities.map(identity => identityToRecipient(identity)))
  return [...new Set([...spec.recipients, ...own])]
}
