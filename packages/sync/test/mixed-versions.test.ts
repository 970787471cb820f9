import { describe, expect, it } from 'vitest'
import { MalformedFrameError, NonCanonicalFrameError } from '../src/index.js'
import { advertisedStores, sharedStores } from '../src/negotiate.js'
import {
  decodeAnnouncement,
  decodeMessage,
  encodeAnnouncement,
  encodeMessage,
  MAX_KINDS,
} from '../src/wire/codec.js'
// The first release's generated codec, kept verbatim: what a node of that release decodes with.
import {
  Announcement as ReleaseOneAnnouncement,
  Frame as ReleaseOneFrame,
} from './fixtures/sync-release1.generated.js'

const trustHash = new Uint8Array(32).fill(9)
const root = (n: number) => new Uint8Array(32).fill(n)
const ALL = ['revocations', 'supersessions', 'assertions', 'invalidations'] as const
const FIRST = ['revocations', 'supersessions', 'assertions'] as const

describe('mixed versions on the wire', () => {
  it('a node syncing only the first three stores sends hello and welcome byte for byte as the first release', () => {
    expect(advertisedStores(FIRST)).toBeUndefined()
    const hello = { networkId: 'n', trustHash, version: 1 }
    expect(encodeMessage({ type: 'hello', ...hello })).toEqual(ReleaseOneFrame.encode({ hello }))
    expect(encodeMessage({ type: 'welcome', version: 1 })).toEqual(
      ReleaseOneFrame.encode({ welcome: { version: 1 } }),
    )
  })

  it('the first release decodes a hello, welcome and announcement of this release, skipping what it does not know', () => {
    const stores = advertisedStores(ALL)!
    const hello = ReleaseOneFrame.decode(
      encodeMessage({ type: 'hello', networkId: 'n', trustHash, version: 1, stores }),
    )
    expect(hello.hello).toEqual({ networkId: 'n', trustHash, version: 1 })
    const welcome = ReleaseOneFrame.decode(encodeMessage({ type: 'welcome', version: 1, stores }))
    expect(welcome.welcome).toEqual({ version: 1 })
    const heads = ALL.map((store, i) => ({ store, root: root(i), count: i }))
    const bytes = encodeAnnouncement({ networkId: 'n', trustHash, heads })
    // The first release decodes with a limit of three heads and refuses a store it does not know.
    const old = ReleaseOneAnnouncement.decode(bytes, { limits: { heads: 3 } })
    expect(old.heads.map((h) => h.store)).toEqual([...FIRST])
    // This release reads every head back.
    expect(decodeAnnouncement(bytes, 4).heads).toEqual(heads)
  })

  it('two nodes reconcile the stores both sync; a remote naming none syncs the first three', () => {
    const decoded = decodeMessage(ReleaseOneFrame.encode({ welcome: { version: 1 } }))
    expect(decoded).toEqual({ type: 'welcome', version: 1 })
    expect(sharedStores(ALL, decoded.type === 'welcome' ? decoded.stores : [])).toEqual([...FIRST])
    expect(sharedStores(ALL, [...ALL])).toEqual([...ALL])
    expect(sharedStores(ALL, ['assertions', 'invalidations', 'a-later-store'])).toEqual([
      'assertions',
      'invalidations',
    ])
    expect(sharedStores(FIRST, [...ALL])).toEqual([...FIRST])
  })

  it('hello and welcome name record kinds: read back by this release, skipped by the first, each once and bounded', () => {
    const kinds = ['supersession/v2', 'assertion/v2']
    const hello = { type: 'hello' as const, networkId: 'n', trustHash, version: 2, kinds }
    expect(decodeMessage(encodeMessage(hello))).toEqual(hello)
    expect(ReleaseOneFrame.decode(encodeMessage(hello)).hello).toEqual({
      networkId: 'n',
      trustHash,
      version: 2,
    })
    expect(decodeMessage(encodeMessage({ type: 'welcome', version: 2, kinds }))).toEqual({
      type: 'welcome',
      version: 2,
      kinds,
    })
    // No kinds named: the field is absent, as in a first-release hello.
    expect(decodeMessage(encodeMessage({ ...hello, kinds: [] }))).not.toHaveProperty('kinds')
    const twice = encodeMessage({ ...hello, kinds: ['assertion/v2', 'assertion/v2'] })
    expect(() => decodeMessage(twice)).toThrow(NonCanonicalFrameError)
    const many = Array.from({ length: MAX_KINDS + 1 }, (_, i) => `kind-${i}/v2`)
    expect(() => decodeMessage(encodeMessage({ ...hello, kinds: many }))).toThrow(MalformedFrameError)
  })
})
