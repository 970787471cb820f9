/**
 * Mixed releases and evidence records (record version 2) over TCP: a node of this release and a
 * node of the first release. The first-release node is played by this release's sync configured as
 * it was (no kinds named, the first release's three stores, `unknown-kind` an offence of the
 * sender) on a state that refuses whatever the first release's frozen record codec refuses
 * (`packages/crdt/test/fixtures/release1-records.ts`, verbatim; this test lives in the repo's `test/` because it spans crdt's fixture and sync), exactly as that node's `apply` did.
 */

import type { ApplyOutcome, NodeState } from '@provsync/crdt'
import { encodeAssertion, signAssertion, signSupersession } from '@provsync/crdt'
import type { SyncedState, SyncReport } from '@provsync/sync'
import { createLibp2pWithProvsync, openIdentityState, QUIET_SYNC } from '@provsync/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { decodeRecord as decodeReleaseOne } from '../../packages/crdt/test/fixtures/release1-records.js'
import {
  ACCEPTED_KINDS,
  acceptsRecord,
  laterKindOf,
  storesWithheldFrom,
} from '../../packages/sync/src/kinds.js'
import {
  coordinate,
  generateSigner,
  load,
  NETWORK,
  signedAssertions,
  tempDirs,
  waitFor,
} from '../../packages/sync/test/helpers.js'

const dirs = tempDirs()
const cleanups: Array<() => Promise<void>> = []
const operator = generateSigner()
const trust = [operator.publicKey]
const FIRST_RELEASE_STORES = ['revocations', 'supersessions', 'assertions'] as const

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  await dirs.cleanup()
})

/** `apply` as the first release ran it: a record its codec cannot read is refused, never applied. */
function asFirstRelease(state: NodeState): SyncedState {
  return {
    networkId: state.networkId,
    publicKey: state.publicKey,
    tree: (store) => state.tree(store),
    getRecords: (store, keys) => state.getRecords(store, keys),
    onChange: (listener) => state.onChange(listener),
    apply: async (store, records, options) => {
      const readable: Uint8Array[] = []
      const outcomes: Array<ApplyOutcome | undefined> = records.map((record) => {
        try {
          decodeReleaseOne(record, state.networkId)
        } catch (err) {
          if ((err as Error).name === 'UnknownKindError') return { status: 'refused', reason: 'unknown-kind' }
        }
        readable.push(record)
        return undefined
      })
      const applied = await state.apply(store, readable, options)
      let next = 0
      return outcomes.map((outcome) => outcome ?? applied[next++]!)
    },
  }
}

async function node(release: 'first' | 'current', extra: { push?: { delayMs: number } } = {}) {
  const { privateKey, state } = await openIdentityState({
    dataDir: await dirs.make(),
    networkId: NETWORK,
    trust,
  })
  const init =
    release === 'first'
      ? { state: asFirstRelease(state), kinds: [], stores: FIRST_RELEASE_STORES }
      : { state, stores: FIRST_RELEASE_STORES }
  const libp2p = await createLibp2pWithProvsync({ ...init, trust, ...QUIET_SYNC, ...extra }, { privateKey })
  cleanups.push(async () => {
    await libp2p.stop()
    await state.close()
  })
  const sync = libp2p.services.provsync
  const reports: SyncReport[] = []
  sync.addEventListener('sync:finished', (evt) => reports.push(evt.detail))
  return { libp2p, state, sync, reports }
}

type Node = Awaited<ReturnType<typeof node>>

/** Evidence records (version 2) of both kinds that may carry one, held by `holder`. */
async function writeEvidenceRecords(holder: Node, count: number): Promise<void> {
  const signer = generateSigner()
  const evidence = new Uint8Array(32).fill(0xee)
  const wallMs = Date.now()
  const records: Uint8Array[] = []
  for (let i = 0; i < count; i++) {
    const assertion = signAssertion(
      { coordinate: coordinate(10_000 + i), run: 1n, hlc: { wallMs, counter: i }, method: 'test', evidence },
      signer,
      NETWORK,
    )
    records.push(encodeAssertion(assertion, NETWORK))
    await holder.state.supersessions.put(
      signSupersession(
        {
          target: new Uint8Array(32).fill(i + 1),
          kind: 'invalidate',
          reason: 'x',
          hlc: { wallMs, counter: i },
          evidence,
        },
        signer,
        NETWORK,
      ),
    )
  }
  await load(holder.state, records, signer.publicKey)
}

/** Every offence either side counted against the other. */
function offences(a: Node, b: Node): Record<string, number> {
  const all: Record<string, number> = {}
  for (const [reason, n] of [
    ...Object.entries(a.sync.offences(b.libp2p.peerId)),
    ...Object.entries(b.sync.offences(a.libp2p.peerId)),
  ])
    if (n > 0) all[reason] = (all[reason] ?? 0) + n
  return all
}

const count = (n: Node, store: 'supersessions' | 'assertions') => n.state.tree(store).count()

async function mixedPair() {
  const current = await node('current')
  const old = await node('first')
  const asserter = generateSigner()
  // Version-1 records on both sides, evidence records only on the current node.
  await load(current.state, signedAssertions(asserter, 40), asserter.publicKey)
  await load(old.state, signedAssertions(asserter, 30, { offset: 40 }), asserter.publicKey)
  await writeEvidenceRecords(current, 6)
  await old.libp2p.dial(current.libp2p.getMultiaddrs()[0]!)
  await waitFor(() => current.libp2p.getConnections(old.libp2p.peerId).length > 0, 'the connection')
  return { current, old }
}

describe('record kinds: which records a peer of another release is sent', () => {
  it('a version-2 record is of a later kind, a version-1 record of none; stores follow the kinds named', () => {
    const v1 = signedAssertions(generateSigner(), 1)[0]!
    const v2 = encodeAssertion(
      signAssertion(
        {
          coordinate: coordinate(1),
          run: 1n,
          hlc: { wallMs: 1, counter: 0 },
          method: 'm',
          evidence: new Uint8Array(32),
        },
        generateSigner(),
        NETWORK,
      ),
      NETWORK,
    )
    expect(laterKindOf('assertions', v1)).toBeUndefined()
    expect(laterKindOf('assertions', v2)).toBe('assertion/v2')
    expect(ACCEPTED_KINDS).toEqual(['supersession/v2', 'assertion/v2'])
    expect(acceptsRecord(new Set(), 'assertions', v1)).toBe(true)
    expect(acceptsRecord(new Set(), 'assertions', v2)).toBe(false)
    expect(acceptsRecord(new Set(['supersession/v2']), 'assertions', v2)).toBe(false)
    expect(acceptsRecord(new Set(ACCEPTED_KINDS), 'assertions', v2)).toBe(true)
    expect(storesWithheldFrom(new Set())).toEqual(['supersessions', 'assertions'])
    expect(storesWithheldFrom(new Set(['assertion/v2']))).toEqual(['supersessions'])
    expect(storesWithheldFrom(new Set(ACCEPTED_KINDS))).toEqual([])
    // A node that names no kind itself withholds nothing: it syncs as the first release did.
    expect(storesWithheldFrom(new Set(), [])).toEqual([])
  })

  it('the first-release node starting sessions: no offence either way, every v1 record syncs, no v2 record reaches it', async () => {
    const { current, old } = await mixedPair()
    for (let i = 0; i < 4; i++) {
      const report = await old.sync.syncWith(current.libp2p.peerId)
      expect(report.error).toBeUndefined()
      // The current node reconciles the stores it refused from its side, right after.
      await waitFor(
        () => count(old, 'assertions') === 70 && count(current, 'assertions') === 76,
        'the reverse session',
      )
    }
    expect(count(old, 'supersessions')).toBe(0)
    expect(offences(current, old)).toEqual({})
    const refusedByOld = old.reports.flatMap((r) => Object.keys(r.refusedByReason))
    expect(refusedByOld).not.toContain('unknown-kind')
    expect(current.reports.some((r) => r.direction === 'outbound' && r.reason === 'reverse')).toBe(true)
  })

  it('the current node starting sessions: v1 records both ways, evidence withheld, and sessions stop growing', async () => {
    const { current, old } = await mixedPair()
    const bytes: number[] = []
    for (let i = 0; i < 5; i++) {
      const report = await current.sync.syncWith(old.libp2p.peerId)
      expect(report.error).toBeUndefined()
      bytes.push(report.bytesIn + report.bytesOut)
      if (i > 0) expect(report.pulled + report.remoteApplied).toBe(0)
    }
    expect(count(old, 'assertions')).toBe(70)
    expect(count(old, 'supersessions')).toBe(0)
    expect(count(current, 'assertions')).toBe(76)
    expect(offences(current, old)).toEqual({})
    // Every later session finds the same 12 evidence records again and sends the same bytes.
    expect(new Set(bytes.slice(1)).size).toBe(1)
    expect(bytes[1]).toBeLessThan(bytes[0]!)
  })

  it('two nodes naming no kinds sync as two first-release nodes: nothing refused, no reverse session', async () => {
    const a = await node('first')
    const b = await node('first')
    const asserter = generateSigner()
    await load(a.state, signedAssertions(asserter, 20), asserter.publicKey)
    await b.libp2p.dial(a.libp2p.getMultiaddrs()[0]!)
    const report = await b.sync.syncWith(a.libp2p.peerId)
    expect(report.error).toBeUndefined()
    expect(count(b, 'assertions')).toBe(20)
    expect([...a.reports, ...b.reports].map((r) => r.reason)).not.toContain('reverse')
    expect(offences(a, b)).toEqual({})
  })

  it('eager push sends a peer naming no kinds nothing of the stores where evidence records live', async () => {
    const push = { push: { delayMs: 10 } }
    const current = await node('current', push)
    const other = await node('first', push)
    const witness = await node('current', push)
    await other.libp2p.dial(current.libp2p.getMultiaddrs()[0]!)
    await witness.libp2p.dial(current.libp2p.getMultiaddrs()[0]!)
    const speaksPush = (a: Node, b: Node) =>
      a.libp2p.peerStore
        .get(b.libp2p.peerId)
        .then((p) => p.protocols.includes('/provsync/push/1.0.0'))
        .catch(() => false)
    await waitFor(
      async () => (await speaksPush(current, other)) && (await speaksPush(current, witness)),
      'identify to name the push protocol',
    )
    await writeEvidenceRecords(current, 2)
    current.state.advanceVerified(coordinate(1), 1n)
    // The witness (naming the kinds) gets everything pushed; the other none of it.
    await waitFor(() => count(witness, 'assertions') === 3 && count(witness, 'supersessions') === 2, 'pushes')
    expect(count(other, 'assertions')).toBe(0)
    expect(count(other, 'supersessions')).toBe(0)
    expect(other.sync.pushStats()?.recordsReceived).toBe(0)
    expect(offences(current, other)).toEqual({})
    // It pulls the version-1 record in a session instead.
    await current.sync.syncWith(other.libp2p.peerId)
    expect(count(other, 'assertions')).toBe(1)
    expect(offences(current, other)).toEqual({})
  })

  it('two current nodes name the kinds and exchange evidence records', async () => {
    const a = await node('current')
    const b = await node('current')
    await writeEvidenceRecords(a, 3)
    await b.libp2p.dial(a.libp2p.getMultiaddrs()[0]!)
    const report = await b.sync.syncWith(a.libp2p.peerId)
    expect(report.error).toBeUndefined()
    expect(count(b, 'assertions')).toBe(3)
    expect(count(b, 'supersessions')).toBe(3)
    expect(offences(a, b)).toEqual({})
  })
})
