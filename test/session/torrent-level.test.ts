/** Which level a torrent runs at: Basic without bttls parameters, Strict with info["bttls"], Full Strict with ssl-cert. */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { describeLevel, levelFor } from '../../src/session/torrent-level.js'
import { createSwarmCa } from '../../src/pki/certificate-profile.js'
import { basicSwarmKey } from '../../src/levels/basic.js'

t.test('levelFor picks the level from the torrent, v2 key first; describeLevel never shows a secret', async t => {
  const v1 = randomBytes(20)
  const v2 = randomBytes(32)
  const basic = levelFor({ infoHashV1: v1, infoHashV2: v2 })
  t.equal(basic.name, 'basic')
  t.same(Buffer.from(basic.swarmKeys[0]!.key), Buffer.from(basicSwarmKey(v2).key), 'the v2 key is the one the initiator proves with')
  t.same(describeLevel({ infoHashV1: v1 }), { level: 'basic' })

  const secret = randomBytes(32)
  const strict = levelFor({ infoHashV1: v1, strict: { mode: 'secret' }, strictSecret: secret })
  t.equal(strict.name, 'strict', 'the secret the .torrent carries is used')
  t.throws(() => levelFor({ infoHashV1: v1, strict: { mode: 'secret' } }), { name: 'MissingCredentialError', code: 'ERR_MISSING_CREDENTIAL' })
  t.same(describeLevel({ infoHashV1: v1, strict: { mode: 'passphrase' }, strictSecret: secret }), { level: 'strict', mode: 'passphrase' })

  const ca = await createSwarmCa('level test')
  const full = levelFor({ infoHashV1: v1, sslCert: ca.certPem, name: 'x' })
  t.equal(full.name, 'full-strict', 'without a certificate source it is still Full Strict; handshakes then fail typed')
  t.throws(() => full.authFlags(), { name: 'CertificateRequiredError' })
  t.same(describeLevel({ infoHashV1: v1, sslCert: ca.certPem }), { level: 'full-strict' })
})
