/**
 * Keeps bep/bep-xxxx.rst and the code from drifting apart:
 *
 * 1. parses every test vector out of the BEP's "Test vectors" section and recomputes it twice, once
 *    with the reference code (deriveSwarmKey, computeProof, encodeAuthMessage, basicLevel) and once
 *    straight from the formulas the BEP states (RFC 5869 HKDF and RFC 2104 HMAC over node:crypto);
 * 2. checks that the BEP's "Constants" table lists exactly the exports of src/handshake/constants.ts,
 *    with the same values;
 * 3. renders the BEP with docutils at the strictest halt level (any info, warning or error fails),
 *    skipped with a reason where docutils is not installed.
 *
 * Vector format (as BEP 44/46): inside a subsection of "Test vectors", a paragraph `label (hex)::` or
 * `label (text)::`, optionally in bold (`**label (hex)**::`), followed by an indented literal block.
 * Hex may be wrapped over several lines; the lines are joined. Any other paragraph is prose.
 */
import t, { type Test } from 'tap'
import { spawnSync } from 'node:child_process'
import { createHash, createHmac } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import * as constants from '../src/handshake/constants.js'
import { authHeader, decodeAuthMessage, encodeAuthMessage, type LevelName } from '../src/handshake/auth-message.js'
import { computeProof, deriveSwarmKey, proofMatches } from '../src/handshake/key-schedule.js'
import { basicLevel, basicSwarmKey } from '../src/levels/basic.js'

/** BTTLS_BEP_PATH lets a check run against a modified copy (to see that the tests catch drift). */
const bepPath = process.env.BTTLS_BEP_PATH ?? fileURLToPath(new URL('../bep/bep-xxxx.rst', import.meta.url))
const rst = readFileSync(bepPath, 'utf8')
const lines = rst.split('\n')

// --- a small reader for the parts of reStructuredText the BEP uses --------------------------------

interface Section { title: string, level: '=' | '-', start: number, end: number }

/** Section titles: a text line underlined by a line of '=' or '-' at least as long. */
function sections (): Section[] {
  const found: Section[] = []
  for (let i = 0; i + 1 < lines.length; i++) {
    const title = lines[i]!
    const under = lines[i + 1]!
    const m = /^(=+|-+)$/.exec(under)
    if (!m || title.trim() === '' || /^[=\-+|]/.test(title) || under.length < title.length) continue
    found.push({ title, level: under[0] as '=' | '-', start: i + 2, end: lines.length })
  }
  // A section ends where the next section of the same or a higher level starts.
  for (let i = 0; i < found.length; i++) {
    const s = found[i]!
    const next = found.slice(i + 1).find(n => n.level === '=' || s.level === '-')
    if (next) s.end = next.start - 2
  }
  return found
}

function section (title: string, level: '=' | '-'): Section {
  const s = sections().find(x => x.title === title && x.level === level)
  if (!s) throw new Error(`the BEP has no section "${title}"`)
  return s
}

type Field = { kind: 'hex', value: Buffer } | { kind: 'text', value: string }

/** The labelled literal blocks of one vector subsection. */
function fields (s: Section): Map<string, Field> {
  const out = new Map<string, Field>()
  for (let i = s.start; i < s.end; i++) {
    const m = /^(\*\*)?(.+?) \((hex|text)\)(\*\*)?::\s*$/.exec(lines[i]!)
    if (!m) continue
    if ((m[1] ?? '') !== (m[4] ?? '')) throw new Error(`line ${i + 1}: unbalanced bold in "${lines[i]}"`)
    const body: string[] = []
    let j = i + 1
    while (j < s.end && lines[j]!.trim() === '') j++
    while (j < s.end && (lines[j]!.startsWith('    ') || lines[j]!.trim() === '')) {
      if (lines[j]!.trim() !== '') body.push(lines[j]!.trim())
      j++
    }
    if (body.length === 0) throw new Error(`line ${i + 1}: "${m[2]}" has no literal block`)
    const label = m[2]!
    if (out.has(label)) throw new Error(`line ${i + 1}: "${label}" appears twice in "${s.title}"`)
    if (m[3] === 'hex') {
      const hex = body.join('')
      if (!/^([0-9a-f]{2})+$/.test(hex)) throw new Error(`line ${i + 1}: "${label}" is not lower-case hex bytes`)
      out.set(label, { kind: 'hex', value: Buffer.from(hex, 'hex') })
    } else {
      out.set(label, { kind: 'text', value: body.join('\n') })
    }
    i = j - 1
  }
  return out
}

class Vector {
  private readonly used = new Set<string>()
  constructor (readonly title: string, private readonly map: Map<string, Field>) {}
  hex (label: string): Buffer {
    const f = this.map.get(label)
    if (!f || f.kind !== 'hex') throw new Error(`vector "${this.title}" lacks "${label} (hex)"`)
    this.used.add(label)
    return f.value
  }
  text (label: string): string {
    const f = this.map.get(label)
    if (!f || f.kind !== 'text') throw new Error(`vector "${this.title}" lacks "${label} (text)"`)
    this.used.add(label)
    return f.value
  }
  /** Labels the BEP gives that no check looked at: a typo, or a value nobody verifies. */
  unchecked (): string[] {
    return [...this.map.keys()].filter(k => !this.used.has(k))
  }
}

// --- the formulas exactly as the BEP states them (independent of src/) --------------------------

const ascii = (s: string): Buffer => Buffer.from(s, 'latin1')
const hmac = (key: Uint8Array, ...parts: Uint8Array[]): Buffer => {
  const h = createHmac('sha256', key)
  for (const p of parts) h.update(p)
  return h.digest()
}
/** RFC 5869 with SHA-256, L = 32 (one expand block). */
const hkdf32 = (salt: Uint8Array, ikm: Uint8Array, info: Uint8Array): Buffer =>
  hmac(hmac(salt, ikm), info, Buffer.from([1]))

const levelByte: Record<string, number> = { basic: 0x01, strict: 0x02, 'full-strict': 0x03 }

// --- the vectors ---------------------------------------------------------------------------------

const EXPECTED_VECTORS = [
  'Test 1 (Basic, v1 infohash)',
  'Test 2 (Basic, v2 infohash)',
  'Test 3 (Basic, hybrid torrent)',
  'Test 4 (Basic, v1 infohash, another connection)'
]

function vectors (): Map<string, Vector> {
  const top = section('Test vectors', '=')
  const subs = sections().filter(s => s.level === '-' && s.start > top.start && s.start < top.end)
  return new Map(subs.map(s => [s.title, new Vector(s.title, fields(s))]))
}

t.test('every expected test vector is in the BEP, and no other', async t => {
  const found = [...vectors().keys()]
  t.same(found, EXPECTED_VECTORS, 'vector subsections of "Test vectors"')
})

/** Checks one Basic vector; returns its outputs for cross-vector checks. */
function checkBasic (t: Test, v: Vector): { hello: Buffer, reply: Buffer } {
  const level = v.text('level') as LevelName
  t.equal(level, 'basic')
  const infoHash = v.hex('infohash')
  const exporter = v.hex('exporter')
  t.ok(infoHash.length === 20 || infoHash.length === 32, 'infohash is 20 or 32 bytes')
  t.equal(exporter.length, constants.EXPORTER_LENGTH, 'exporter length')
  // The prose says where the example infohashes come from.
  const source = infoHash.length === 20
    ? createHash('sha1').update('bttls test vector v1').digest()
    : createHash('sha256').update('bttls test vector v2').digest()
  t.same(infoHash, source, 'example infohash as the section introduction describes it')

  const salt = v.hex('HKDF salt')
  const info = v.hex('HKDF info')
  t.same(salt, ascii(constants.SWARM_KEY_SALT), 'HKDF salt is SWARM_KEY_SALT')
  t.same(info, ascii(constants.BASIC_KEY_INFO), 'HKDF info is BASIC_KEY_INFO')

  const swarmKey = v.hex('swarm key')
  t.same(swarmKey, deriveSwarmKey(infoHash, constants.BASIC_KEY_INFO), 'swarm key: deriveSwarmKey')
  t.same(swarmKey, basicSwarmKey(infoHash).key, 'swarm key: basicSwarmKey')
  t.same(swarmKey, hkdf32(salt, infoHash, info), 'swarm key: HKDF-SHA256 as the BEP states it')

  const header = v.hex('header')
  t.same(header, authHeader(level), 'header: authHeader')
  t.same(header, Buffer.from([constants.PROTOCOL_VERSION, levelByte[level]!, 0, 0]), 'header: version, level, reserved')

  const proofs: Record<'initiator' | 'responder', Buffer> = { initiator: Buffer.alloc(0), responder: Buffer.alloc(0) }
  for (const role of ['initiator', 'responder'] as const) {
    const label = role === 'initiator' ? constants.INITIATOR_PROOF_LABEL : constants.RESPONDER_PROOF_LABEL
    const input = v.hex(`${role} HMAC input`)
    t.same(input, Buffer.concat([ascii(label), header, exporter]), `${role} HMAC input: label || header || exporter`)
    const proof = v.hex(`${role} proof`)
    t.same(proof, computeProof(swarmKey, role, header, exporter), `${role} proof: computeProof`)
    t.same(proof, hmac(swarmKey, input), `${role} proof: HMAC-SHA256 as the BEP states it`)
    proofs[role] = proof
  }

  const hello = v.hex('AuthHello')
  const reply = v.hex('AuthReply')
  t.same(hello, encodeAuthMessage({ level, proof: proofs.initiator }), 'AuthHello: encodeAuthMessage')
  t.same(reply, encodeAuthMessage({ level, proof: proofs.responder }), 'AuthReply: encodeAuthMessage')
  t.same(hello, Buffer.concat([header, proofs.initiator]), 'AuthHello: header || initiator proof')
  t.equal(hello.length, constants.AUTH_MESSAGE_LENGTH)
  for (const [name, bytes, proof] of [['AuthHello', hello, proofs.initiator], ['AuthReply', reply, proofs.responder]] as const) {
    const decoded = decodeAuthMessage(bytes)
    t.equal(decoded.level, level, `${name} decodes to its level`)
    t.ok(proofMatches(proof, decoded.proof), `${name} proof verifies`)
  }
  t.same(v.unchecked(), [], 'every value in the vector was checked')
  return { hello, reply }
}

t.test('Basic vectors', async t => {
  const all = vectors()
  const get = (title: string): Vector => {
    const v = all.get(title)
    if (!v) throw new Error(`the BEP lacks test vector "${title}"`)
    return v
  }
  const out = new Map<string, { hello: Buffer, reply: Buffer }>()
  for (const title of [EXPECTED_VECTORS[0]!, EXPECTED_VECTORS[1]!, EXPECTED_VECTORS[3]!]) {
    await t.test(title, async t => { out.set(title, checkBasic(t, get(title))) })
  }
  t.equal(get(EXPECTED_VECTORS[0]!).hex('infohash').length, 20, 'test 1 is a v1 infohash')
  t.equal(get(EXPECTED_VECTORS[1]!).hex('infohash').length, 32, 'test 2 is a v2 infohash')
  t.same(get(EXPECTED_VECTORS[3]!).hex('infohash'), get(EXPECTED_VECTORS[0]!).hex('infohash'), 'test 4 reuses the infohash of test 1')
  const t1 = out.get(EXPECTED_VECTORS[0]!)!
  const t4 = out.get(EXPECTED_VECTORS[3]!)!
  t.notSame(t4.hello.subarray(4), t1.hello.subarray(4), 'another exporter gives another initiator proof')
  t.notSame(t4.reply.subarray(4), t1.reply.subarray(4), 'another exporter gives another responder proof')

  await t.test(EXPECTED_VECTORS[2]!, async t => {
    const v = get(EXPECTED_VECTORS[2]!)
    const level = v.text('level') as LevelName
    t.equal(level, 'basic')
    const v1 = v.hex('v1 infohash')
    const v2 = v.hex('v2 infohash')
    const exporter = v.hex('exporter')
    t.equal(v1.length, 20)
    t.equal(v2.length, 32)
    t.same(v1, get(EXPECTED_VECTORS[0]!).hex('infohash'), 'v1 infohash is that of test 1')
    t.same(v2, get(EXPECTED_VECTORS[1]!).hex('infohash'), 'v2 infohash is that of test 2')
    t.same(exporter, get(EXPECTED_VECTORS[1]!).hex('exporter'), 'same exporter as test 2')

    const hybrid = basicLevel([v2, v1])
    t.same(hybrid.swarmKeys.map(k => Buffer.from(k.infoHash)), [v2, v1], 'the initiator proves with the v2 key first')
    t.same(v.hex('v1 swarm key'), hybrid.swarmKeys[1]!.key, 'v1 swarm key')
    t.same(v.hex('v2 swarm key'), hybrid.swarmKeys[0]!.key, 'v2 swarm key')
    t.same(v.hex('v1 swarm key'), get(EXPECTED_VECTORS[0]!).hex('swarm key'), 'v1 swarm key is that of test 1')

    const header = authHeader(level)
    const hello = v.hex('AuthHello')
    const reply = v.hex('AuthReply')
    t.same(hello, encodeAuthMessage({ level, proof: computeProof(hybrid.swarmKeys[0]!.key, 'initiator', header, exporter) }), 'AuthHello under the v2 key')
    t.same(reply, encodeAuthMessage({ level, proof: computeProof(hybrid.swarmKeys[0]!.key, 'responder', header, exporter) }), 'AuthReply under the v2 key')
    t.same(hello, out.get(EXPECTED_VECTORS[1]!)!.hello, 'AuthHello equals that of test 2')

    // The responder holds both keys and accepts a proof under either (test 1's AuthHello too).
    for (const [name, msg] of [['test 3', hello], ['test 1', t1.hello]] as const) {
      const proof = decodeAuthMessage(msg).proof
      const matches = hybrid.swarmKeys.filter(k => proofMatches(computeProof(k.key, 'initiator', header, exporter), proof))
      t.equal(matches.length, 1, `the responder finds exactly one key for the AuthHello of ${name}`)
    }
    t.same(v.hex('handshake infohash'), v2.subarray(0, 20), 'wire infohash: v2 truncated to 20 bytes (BEP 52)')
    t.same(v.unchecked(), [], 'every value in the vector was checked')
  })
})

// --- the constants table -------------------------------------------------------------------------

/** Rows of the first grid table in a section: cell texts, multi-line cells joined with spaces. */
function gridRows (s: Section): string[][] {
  const rows: string[][] = []
  let current: string[] | undefined
  let inTable = false
  for (let i = s.start; i < s.end; i++) {
    const line = lines[i]!
    if (/^\+[-=+]+\+$/.test(line)) {
      inTable = true
      if (current) rows.push(current.map(c => c.trim().replace(/\s+/g, ' ')))
      current = undefined
      continue
    }
    if (!inTable) continue
    if (!line.startsWith('|')) break
    const cells = line.split('|').slice(1, -1)
    current = current ? current.map((c, k) => `${c} ${cells[k] ?? ''}`) : cells
  }
  return rows
}

type ConstValue = string | number | readonly string[]

function parseValue (cell: string): ConstValue {
  const str = /^"([^"]*)"$/.exec(cell)
  if (str) return str[1]!
  if (/^0x[0-9a-f]+$/i.test(cell)) return parseInt(cell, 16)
  if (/^\d+$/.test(cell)) return parseInt(cell, 10)
  const items = [...cell.matchAll(/``([^`]+)``/g)].map(m => m[1]!)
  if (items.length > 0 && cell.replace(/``[^`]+``/g, '').trim() === '') return items
  throw new Error(`cannot read constant value "${cell}"`)
}

/** constants.ts flattened to the BEP's names: LEVEL_CODES.basic is LEVEL_BASIC, and so on. */
function codeConstants (): Map<string, ConstValue> {
  const out = new Map<string, ConstValue>()
  for (const [name, value] of Object.entries(constants)) {
    if (name === 'LEVEL_CODES') {
      for (const [level, code] of Object.entries(value as Record<string, number>)) {
        out.set(`LEVEL_${level.toUpperCase().replace(/-/g, '_')}`, code)
      }
    } else if (typeof value === 'string' || typeof value === 'number' || Array.isArray(value)) {
      out.set(name, value as ConstValue)
    } else {
      throw new Error(`constants.ts exports ${name} of a kind the BEP table cannot show`)
    }
  }
  return out
}

t.test('the BEP constants table is constants.ts', async t => {
  const rows = gridRows(section('Constants', '-'))
  t.same(rows[0], ['Name', 'Value', 'Meaning'], 'table header')
  const table = new Map<string, ConstValue>()
  for (const row of rows.slice(1)) {
    const name = /^``([A-Z0-9_]+)``$/.exec(row[0]!)
    if (!name) throw new Error(`constant name cell "${row[0]}" is not a \`\`NAME\`\``)
    table.set(name[1]!, parseValue(row[1]!))
  }
  const code = codeConstants()
  t.same([...table.keys()].sort(), [...code.keys()].sort(), 'same names in the BEP and in constants.ts')
  for (const [name, value] of code) t.same(table.get(name), value, name)
})

t.test('the BEP prose quotes the constants it names', async t => {
  // Every `NAME` (N) in the prose must give the code's value.
  const quoted = [...rst.matchAll(/``([A-Z][A-Z0-9_]+)``\s+\(((?:0x)?[0-9a-f]+)(?: ms)?\)/g)]
  t.ok(quoted.length >= 5, 'the prose quotes constants with their values')
  for (const m of quoted) {
    const value = codeConstants().get(m[1]!)
    t.equal(value, Number(m[2]), `${m[1]} quoted as ${m[2]}`)
  }
})

// --- docutils -----------------------------------------------------------------------------------

const python = '/usr/bin/python3'
const docutilsMissing = spawnSync(python, ['-c', 'import docutils'], { encoding: 'utf8' }).status !== 0

t.test('the BEP renders with docutils without any system message', {
  skip: docutilsMissing ? `docutils is not installed for ${python} (apt-get install python3-docutils)` : false
}, async t => {
  // halt_level 1 is docutils' --strict: stop at any info, warning or error.
  const script = [
    'import sys, docutils.core',
    'docutils.core.publish_file(source_path=sys.argv[1], destination_path="/dev/null", writer_name="html",',
    '  settings_overrides={"halt_level": 1, "report_level": 1, "traceback": False})'
  ].join('\n')
  const r = spawnSync(python, ['-c', script, bepPath], { encoding: 'utf8' })
  t.equal(r.status, 0, 'docutils exit status')
  t.equal(r.stderr, '', 'no docutils messages')
})
