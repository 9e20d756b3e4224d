import { generateKeyPairSync } from 'node:crypto'
import { stat, writeFile } from 'node:fs/promises'
import type { Reporter } from '../reporter.js'
import { UsageError } from '../torrent-input.js'

/**
 * `bttls keygen <key.pem>`: a publisher's Ed25519 key pair. The private key (PKCS#8 PEM, mode 0600)
 * goes to --publisher-key when seeding; the public key (`<key>.pub.pem`, SPKI PEM) to
 * `create --strict-cert`. An existing file is never overwritten.
 */
export async function keygenCommand (path: string, reporter: Reporter): Promise<number> {
  const publicPath = path.replace(/(\.pem|\.key)?$/, '.pub.pem')
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const exclusive = async (file: string, data: string, mode: number): Promise<void> => {
    await writeFile(file, data, { mode, flag: 'wx' }).catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'EEXIST' ? new UsageError(`${file} exists; keygen never overwrites a key`) : err
    })
  }
  for (const file of [path, publicPath]) {
    if (await stat(file).then(() => true, () => false)) throw new UsageError(`${file} exists; keygen never overwrites a key`)
  }
  await exclusive(path, privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), 0o600)
  await exclusive(publicPath, publicKey.export({ format: 'pem', type: 'spki' }).toString(), 0o644)
  reporter.event('keygen', { privateKey: path, publicKey: publicPath })
  reporter.line(`publisher key: ${path} (private, keep it: seed with --publisher-key ${path})`)
  reporter.line(`public key:    ${publicPath} (create --strict-cert ${publicPath})`)
  return 0
}
