/** The certificate helpers every bttls certificate shares (src/pki/x509.ts). */
import t from 'tap'
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto'
import { canonicalSerial, escapeDn, generateKeyPair, importSigningKey, pkcs8Pem, randomSerial } from '../../src/pki/x509.js'
import { roleLabel } from '../../src/protocol/key-schedule.js'
import { INITIATOR_PROOF_LABEL, RESPONDER_PROOF_LABEL } from '../../src/protocol/constants.js'

t.test('serials: random ones are 128-bit positive hex; one canonical form for comparing', async t => {
  for (let i = 0; i < 64; i++) {
    const s = randomSerial()
    t.match(s, /^[0-7][0-9a-f]{31}$/, 'positive: the top bit is clear')
  }
  t.equal(canonicalSerial('00AB01'), 'ab01')
  t.equal(canonicalSerial('0'), '0', 'zero stays one digit')
  t.equal(canonicalSerial('000'), '0')
  t.equal(canonicalSerial('7F'), canonicalSerial('007f'))
})

t.test('a generated key written as PKCS#8 PEM reads back, and signs as a WebCrypto key', async t => {
  const keys = await generateKeyPair()
  const pem = pkcs8Pem(keys.privateKey)
  t.match(pem, /^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END PRIVATE KEY-----\n$/)
  const key = createPrivateKey(pem)
  t.equal(key.asymmetricKeyType, 'ec')
  t.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1')
  const signature = sign('sha256', Buffer.from('x'), key)
  t.ok(verify('sha256', Buffer.from('x'), createPublicKey(key), signature))
  const imported = await importSigningKey(pem)
  t.equal(imported.type, 'private')
  t.same(imported.usages, ['sign'])
})

t.test('distinguished-name values are escaped; role labels are the BEP\'s', async t => {
  t.equal(escapeDn('a,b+c="d"'), 'a\\,b\\+c\\=\\"d\\"')
  t.equal(escapeDn('plain name'), 'plain name')
  t.equal(roleLabel('initiator'), INITIATOR_PROOF_LABEL)
  t.equal(roleLabel('responder'), RESPONDER_PROOF_LABEL)
})
