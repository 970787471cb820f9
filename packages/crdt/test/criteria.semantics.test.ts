import { compileCriteria, InvalidArgumentError, type InvalidationCriteria, toHex } from '@provsync/crdt'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { describeCriteria, globToRegExp, validateCriteria } from '../src/criteria.js'
import { assertionBytes, BASE_MS, coordinate, hlc, signerN, TempDirs } from './helpers.js'

const [A, B] = [signerN(1).publicKey, signerN(2).publicKey]
const record = (keyText: string, wallMs = 10, signer = A) => ({ signer, hlc: hlc(wallMs), keyText })

describe('criteria: patterns', () => {
  it('`?` matches exactly one character, `*` any run of them (also none, also a newline)', () => {
    const one = globToRegExp('a?c')
    expect(['abc', 'a?c', 'a*c', 'a\nc'].map((s) => one.test(s))).toEqual([true, true, true, true])
    expect(['ac', 'abbc', 'xabc', 'abcx'].map((s) => one.test(s))).toEqual([false, false, false, false])
    const any = globToRegExp('a*c')
    expect(['ac', 'abc', 'ab\nbc'].map((s) => any.test(s))).toEqual([true, true, true])
    expect(['ab', 'xac', 'acx'].map((s) => any.test(s))).toEqual([false, false, false])
  })

  it('every other character is literal', () => {
    for (const special of ['.', '+', '^', '$', '{', '}', '(', ')', '|', '[', ']', '\\']) {
      const re = globToRegExp(`a${special}b`)
      expect(re.test(`a${special}b`)).toBe(true)
      expect(re.test('axb')).toBe(false)
      expect(re.test(`a${special}${special}b`)).toBe(false)
    }
    expect(globToRegExp('a{2}').test('aa')).toBe(false)
    expect(globToRegExp('[ab]').test('a')).toBe(false)
    expect(globToRegExp('(a|b)').test('a')).toBe(false)
  })

  it('a pattern of `?` marks matches exactly that many characters (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.string({ maxLength: 8 }), (n, text) => {
        expect(globToRegExp('?'.repeat(n)).test(text)).toBe([...text].length === n)
      }),
    )
  })
})

describe('criteria: what each criterion matches', () => {
  it('signer: exactly that key', () => {
    const test = compileCriteria({ type: 'signer', key: A })
    expect(test(record('x', 1, new Uint8Array(A)))).toBe(true)
    expect(test(record('x', 1, B))).toBe(false)
  })

  it('prefix: key text starting with it', () => {
    const test = compileCriteria({ type: 'prefix', prefix: 'vol/d' })
    expect(['vol/d', 'vol/dst/o'].map((k) => test(record(k)))).toEqual([true, true])
    expect(['vol/', 'xvol/d', 'VOL/d'].map((k) => test(record(k)))).toEqual([false, false, false])
  })

  it('pattern: the whole key text', () => {
    const test = compileCriteria({ type: 'pattern', pattern: 'vol/*/o-?' })
    expect(['vol/dst/o-1', 'vol//o-x'].map((k) => test(record(k)))).toEqual([true, true])
    expect(['vol/dst/o-12', 'vol/dst/o-', 'xvol/dst/o-1'].map((k) => test(record(k)))).toEqual([
      false,
      false,
      false,
    ])
  })

  it('older-than: strictly before the epoch', () => {
    const test = compileCriteria({ type: 'older-than', epoch: hlc(10, 5) })
    expect(test({ signer: A, keyText: '', hlc: hlc(10, 4) })).toBe(true)
    expect(test({ signer: A, keyText: '', hlc: hlc(10, 5) })).toBe(false)
    expect(test({ signer: A, keyText: '', hlc: hlc(10, 6) })).toBe(false)
    expect(test({ signer: A, keyText: '', hlc: hlc(9, 9) })).toBe(true)
  })

  it('describes each criterion', () => {
    expect(describeCriteria({ type: 'signer', key: A })).toBe(`signer ${toHex(A)}`)
    expect(describeCriteria({ type: 'prefix', prefix: 'v/"' })).toBe('key prefix "v/\\""')
    expect(describeCriteria({ type: 'pattern', pattern: 'v/*' })).toBe('key pattern "v/*"')
    expect(describeCriteria({ type: 'older-than', epoch: hlc(12, 3) })).toBe('HLC older than 12.3')
  })
})

describe('criteria: validation', () => {
  const long = 'x'.repeat(257)
  const longBytes = 'é'.repeat(129) // 129 characters, 258 bytes
  const refused: [string, unknown, string][] = [
    ['not an object', null, 'criteria'],
    ['a string', 'signer', 'criteria'],
    ['an unknown type', { type: 'hash' }, 'criteria.type'],
    ['a signer key of 31 bytes', { type: 'signer', key: new Uint8Array(31) }, 'criteria.key'],
    ['a signer key of 33 bytes', { type: 'signer', key: new Uint8Array(33) }, 'criteria.key'],
    ['a signer key that is text', { type: 'signer', key: toHex(A) }, 'criteria.key'],
    ['an empty prefix (it would match every key)', { type: 'prefix', prefix: '' }, 'criteria.prefix'],
    ['a prefix that is not text', { type: 'prefix', prefix: 7 }, 'criteria.prefix'],
    ['a prefix over 256 bytes', { type: 'prefix', prefix: long }, 'criteria.prefix'],
    ['an empty pattern', { type: 'pattern', pattern: '' }, 'criteria.pattern'],
    ['a pattern over 256 bytes (in UTF-8)', { type: 'pattern', pattern: longBytes }, 'criteria.pattern'],
    ['an epoch missing', { type: 'older-than' }, 'criteria.epoch'],
    ['an epoch that is null', { type: 'older-than', epoch: null }, 'criteria.epoch'],
    ['an epoch that is a number', { type: 'older-than', epoch: 5 }, 'criteria.epoch'],
    [
      'an epoch with a fractional wall time',
      { type: 'older-than', epoch: { ...hlc(1), wallMs: 1.5 } },
      'criteria.epoch',
    ],
    [
      'an epoch with a text counter',
      { type: 'older-than', epoch: { ...hlc(1), counter: '1' } },
      'criteria.epoch',
    ],
    ['an epoch without node id', { type: 'older-than', epoch: { wallMs: 1, counter: 0 } }, 'criteria.epoch'],
    [
      'an epoch with a text node id',
      { type: 'older-than', epoch: { ...hlc(1), nodeId: '00' } },
      'criteria.epoch',
    ],
  ]
  it.each(refused)('refuses %s, naming the argument', (_, criteria, argument) => {
    let caught: unknown
    try {
      validateCriteria(criteria as InvalidationCriteria)
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(InvalidArgumentError)
    expect((caught as InvalidArgumentError).argument).toBe(argument)
  })

  it('says why', () => {
    expect(() => validateCriteria({ type: 'prefix', prefix: long })).toThrow(
      'criteria.prefix: longer than 256 bytes',
    )
    expect(() => validateCriteria({ type: 'prefix', prefix: '' })).toThrow('must be a non-empty string')
    expect(() => validateCriteria(null as unknown as InvalidationCriteria)).toThrow(
      'criteria: must be an object',
    )
    expect(() => validateCriteria({ type: 'signer', key: new Uint8Array(3) })).toThrow(
      'criteria.key: must be a 32-byte public key',
    )
    expect(() =>
      validateCriteria({ type: 'older-than', epoch: null } as unknown as InvalidationCriteria),
    ).toThrow('criteria.epoch: must be an HLC timestamp')
    expect(() => validateCriteria({ type: 'hash' } as unknown as InvalidationCriteria)).toThrow(
      'unknown criteria "hash"',
    )
  })

  it('accepts each well-formed criterion, up to 256 bytes of text', () => {
    const ok: InvalidationCriteria[] = [
      { type: 'signer', key: A },
      { type: 'prefix', prefix: 'x'.repeat(256) },
      { type: 'pattern', pattern: 'é'.repeat(128) },
      { type: 'older-than', epoch: hlc(0) },
    ]
    for (const criteria of ok) expect(() => validateCriteria(criteria)).not.toThrow()
  })
})

describe('criteria: an operator invalidation counts what it hit', () => {
  const temp = new TempDirs()
  afterAll(() => temp.cleanup())

  it('a `?` pattern invalidates exactly the keys of one more character', async () => {
    const state = await temp.open({ noSync: true })
    const peer = signerN(3)
    const coords = ['origin-1', 'origin-2', 'origin-12', 'origin-'].map((o) => ({
      ...coordinate(0),
      origin: o,
    }))
    await state.apply(
      'assertions',
      coords.map((c, i) => assertionBytes(peer, c, 1n, BASE_MS + i)),
      { from: peer.publicKey },
    )
    const entry = state.ledger.invalidate(
      { type: 'pattern', pattern: 'vol/dst/origin-?' },
      { actor: 'ops', reason: 'r' },
    )
    expect(entry.result).toMatchObject({ invalidated: 2, viewChanges: 2 })
    expect(coords.map((c) => state.view.get(c) !== undefined)).toEqual([false, false, true, true])
  })
})
