/**
 * The PKI of a libtorrent SSL torrent (lt ≥ 1.2): a CA whose PEM goes into the info dict as
 * `ssl-cert`, and one leaf per peer named after the torrent (SAN DNS = info.name), since libtorrent
 * matches the certificate name against the torrent name, not the infohash.
 */
import { execFile } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface Pki { caPem: string, caKey: string, leaves: Record<string, { cert: string, key: string }> }

export async function makePki (dir: string, torrentName: string, leafNames: string[]): Promise<Pki> {
  const caPem = join(dir, 'ca.pem')
  const caKey = join(dir, 'ca.key')
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']
  await run('openssl', ['req', '-x509', ...ec, '-keyout', caKey, '-out', caPem, '-days', '2', '-subj', '/CN=bttls interop test CA'])
  const leaves: Pki['leaves'] = {}
  for (const name of leafNames) {
    const key = join(dir, `${name}.key`)
    const csr = join(dir, `${name}.csr`)
    const cert = join(dir, `${name}.pem`)
    const ext = join(dir, `${name}.ext`)
    await run('openssl', ['req', ...ec, '-keyout', key, '-out', csr, '-subj', `/CN=${name}`])
    await writeFile(ext, `subjectAltName=DNS:${torrentName}\n`)
    await run('openssl', ['x509', '-req', '-in', csr, '-CA', caPem, '-CAkey', caKey, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', ext])
    leaves[name] = { cert, key }
  }
  return { caPem, caKey, leaves }
}
