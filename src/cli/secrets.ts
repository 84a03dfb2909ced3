/** Secrets never reach the terminal: what the CLI masks, known before any parsing. */
import { isMaskable } from '../app/settings.js'
import { FLAG_ENVIRONMENT, SECRET_INPUTS } from './commands.js'

/** Replaces every secret in text with `***`. */
export class Masker {
  private secrets: string[] = []

  constructor(secrets: Iterable<string> = []) {
    for (const secret of secrets) this.add(secret)
  }

  add(secret: string): void {
    if (!isMaskable(secret) || this.secrets.includes(secret)) return
    // Longest first, so a secret that contains another is masked whole.
    this.secrets = [...this.secrets, secret].sort((a, b) => b.length - a.length)
  }

  mask(text: string): string {
    let masked = text
    for (const secret of this.secrets) masked = masked.split(secret).join('***')
    return masked
  }
}

/**
 * Secrets visible in the raw command line and environment, known before any parsing, so that
 * even an error about the arguments cannot print them.
 */
export function secretsOf(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>
): string[] {
  const secrets: string[] = []
  const valuesOf = (kind: 'value' | 'env-lines', text: string) =>
    kind === 'value'
      ? [text]
      : text
          .split('\n')
          .flatMap(line => (line.includes('=') ? [line.slice(line.indexOf('=') + 1)] : []))
  argv.forEach((word, index) => {
    for (const [name, kind] of Object.entries(SECRET_INPUTS)) {
      const flag = `--${name}`
      if (word === flag && index + 1 < argv.length) secrets.push(...valuesOf(kind, argv[index + 1]))
      if (word.startsWith(`${flag}=`)) secrets.push(...valuesOf(kind, word.slice(flag.length + 1)))
    }
  })
  for (const source of Object.values(FLAG_ENVIRONMENT)) {
    const value = env[source.variable]
    if (value) secrets.push(value)
  }
  return secrets.filter(Boolean)
}
