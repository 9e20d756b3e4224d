/**
 * Reading option values the way users of other tools expect: sizes such as `1M`, secrets from a file
 * or the environment (argv is visible to every user in `ps`), the TLS key log from SSLKEYLOGFILE.
 */
import { readFile } from 'node:fs/promises'
import { createPrivateKey, type KeyObject } from 'node:crypto'
import { UsageError } from './torrent-input.js'

const SIZE_UNITS: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30 }

/** `16384`, `16K`, `1M`, `1MiB`, `4m`: bytes (binary units, as aria2c and mktorrent read them). */
export function parseSize (option: string, value: string): number {
  const m = /^(\d+)\s*([kmg]?)(?:i?b)?$/i.exec(value.trim())
  if (m === null) throw new UsageError(`${option} wants a size such as 262144, 256K or 1M, got "${value}"`)
  return Number(m[1]) * SIZE_UNITS[m[2]!.toUpperCase()]!
}

/**
 * `--max-upload-rate 500K`: bytes per second with aria2c's units (`K` = 1024, `M` = 1024²); 0 is
 * unlimited, as for aria2c and Transmission. Undefined when unlimited.
 */
export function parseRate (option: string, value: string): number | undefined {
  const m = /^(\d+)\s*([kmg]?)(?:i?b)?(?:\/s)?$/i.exec(value.trim())
  if (m === null) throw new UsageError(`${option} wants bytes per second such as 500K or 2M (0: unlimited), got "${value}"`)
  const rate = Number(m[1]) * SIZE_UNITS[m[2]!.toUpperCase()]!
  if (!Number.isSafeInteger(rate)) throw new UsageError(`${option} ${value} is too large`)
  return rate === 0 ? undefined : rate
}

/** Environment variables that may hold a credential instead of argv. */
export const SECRET_ENV = { passphrase: 'BTTLS_PASSPHRASE', secret: 'BTTLS_SECRET' } as const

/**
 * A credential given as `--NAME VALUE`, `--NAME-file FILE` (first line) or the environment variable
 * `env`; at most one of the options. Undefined when none is given.
 */
export async function credentialValue (name: 'passphrase' | 'secret', value: string | undefined, file: string | undefined): Promise<string | undefined> {
  if (value !== undefined && file !== undefined) throw new UsageError(`choose one of --${name} and --${name}-file`)
  if (file !== undefined) {
    const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => { throw new UsageError(`--${name}-file ${file}: ${err.code ?? err.message}`) })
    const line = text.split(/\r?\n/)[0] ?? ''
    if (line === '') throw new UsageError(`--${name}-file ${file}: the first line is empty`)
    return line
  }
  if (value !== undefined) return value
  const env = process.env[SECRET_ENV[name]]
  return env === undefined || env === '' ? undefined : env
}

/** `--publisher-key FILE`: an Ed25519 private key, PEM; anything else is the user's mistake, said as such. */
export async function publisherPrivateKey (file: string): Promise<KeyObject> {
  const pem = await readFile(file, 'utf8')
  let key: KeyObject
  try {
    key = createPrivateKey(pem)
  } catch {
    throw new UsageError(`--publisher-key ${file}: not a PEM private key (make one with "bttls keygen")`)
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new UsageError(`--publisher-key ${file}: an ${String(key.asymmetricKeyType).toUpperCase()} key; a publisher key is Ed25519 (make one with "bttls keygen")`)
  }
  return key
}

/** `--keylog FILE`, else SSLKEYLOGFILE as OpenSSL, curl and browsers honour it. */
export function keylogFile (option: string | undefined): string | undefined {
  if (option !== undefined) return option
  const env = process.env.SSLKEYLOGFILE
  return env === undefined || env === '' ? undefined : env
}
