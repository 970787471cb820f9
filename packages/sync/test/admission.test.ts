import type { Admission, ProvsyncNode } from '@provsync/sync'
import { NotAdmittedError } from '@provsync/sync'
import { afterEach, describe, expect, it } from 'vitest'
import { decodeMessage, encodeMessage } from '../src/wire/codec.js'
import { Frame as ReleaseOneFrame } from './fixtures/sync-release1.generated.js'
import { coordinate, generateSigner, rootsEqual, startNode, tempDirs } from './helpers.js'

const dirs = tempDirs()
const nodes: ProvsyncNode[] = []
const operator = generateSigner()
const trust = [operator.publicKey]
const quiet = { announce: false as const, antiEntropy: false as const, syncOnConnect: false }
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()))
  await dirs.cleanup()
})

/**
 * Admission by a members list: a credential is `"member:" + key hex`, admitted when that key is
 * the peer's and on the list (the grant check itself lives in @provsync/artifacts). Every call is
 * recorded, so the test sees what each side was shown.
 */
function listAdmission(members: Set<string>, own: () => Uint8Array | undefined) {
  const seen: Array<{ peer: string; credential: string | undefined }> = []
  const admission: Admission = {
    credential: own,
    admit(peerKey, credential) {
      const text = credential === undefined ? undefined : new TextDecoder().decode(credential)
      seen.push({ peer: hex(peerKey), credential: text })
      return members.has(hex(peerKey)) && text === `member:${hex(peerKey)}`
    },
  }
  return { admission, seen }
}

async function member(members: Set<string>, options: { credential?: boolean } = {}) {
  const dataDir = await dirs.make()
  let key: Uint8Array | undefined
  const { admission, seen } = listAdmission(members, () =>
    options.credential === false || key === undefined
      ? undefined
      : new TextEncoder().encode(`member:${hex(key)}`),
  )
  const node = await startNode({ dataDir, trust, sync: { ...quiet, admission } })
  key = node.publicKey
  nodes.push(node)
  return { node, seen }
}

describe('admission in the hello (closed network)', () => {
  it('a credential rides in the hello and welcome; a first-release decoder skips it; none keeps the old bytes', () => {
    const credential = new Uint8Array([1, 2, 3, 4])
    const trustHash = new Uint8Array(32).fill(9)
    const hello = { type: 'hello' as const, networkId: 'n', trustHash, version: 1 }
    expect(decodeMessage(encodeMessage({ ...hello, credential }))).toEqual({ ...hello, credential })
    expect(decodeMessage(encodeMessage({ type: 'welcome', version: 1, credential }))).toEqual({
      type: 'welcome',
      version: 1,
      credential,
    })
    const old = ReleaseOneFrame.decode(encodeMessage({ ...hello, credential }))
    expect(old.hello).toEqual({ networkId: 'n', trustHash, version: 1 })
    expect(encodeMessage(hello)).toEqual(
      ReleaseOneFrame.encode({ hello: { networkId: 'n', trustHash, version: 1 } }),
    )
    expect(() => encodeMessage({ ...hello, credential: new Uint8Array(4097) })).toThrow(
      expect.objectContaining({ name: 'WireTextError', field: 'credential' }),
    )
  })

  it('members sync; a peer without a live credential is refused both ways, learns nothing and is not blamed', async () => {
    const members = new Set<string>()
    const a = await member(members)
    const b = await member(members)
    const x = await member(members, { credential: false })
    members.add(hex(a.node.publicKey)).add(hex(b.node.publicKey))
    for (let i = 0; i < 3; i++) a.node.state.advanceVerified(coordinate(i), 1n)
    await b.node.dial(a.node.multiaddrs()[0]!)
    await x.node.dial(a.node.multiaddrs()[0]!)
    const ok = await b.node.sync.syncWith(a.node.peerId)
    expect(ok.error).toBeUndefined()
    expect(rootsEqual(a.node.state, b.node.state)).toBe(true)
    // x opens: a refuses it after its hello, so x pulls nothing and receives only the refusal.
    const refused = await x.node.sync.syncWith(a.node.peerId).then(
      () => undefined,
      (err: Error) => err,
    )
    expect(refused).toMatchObject({ name: 'RefusedError', code: 'not-admitted' })
    expect(x.node.state.tree('assertions').count()).toBe(0)
    // a opens towards x: x's welcome carries no credential, so a says nothing more.
    const outbound = await a.node.sync.syncWith(x.node.peerId).then(
      () => undefined,
      (err: Error) => err,
    )
    expect(outbound).toBeInstanceOf(NotAdmittedError)
    expect(x.node.state.tree('assertions').count()).toBe(0)
    // a was shown x's empty hello and b's credential; nobody is blamed for a refusal.
    expect(a.seen.some((s) => s.peer === hex(x.node.publicKey) && s.credential === undefined)).toBe(true)
    expect(a.seen.some((s) => s.peer === hex(b.node.publicKey) && s.credential !== undefined)).toBe(true)
    expect(Object.values(a.node.sync.offences(x.node.peerId)).every((n) => n === 0)).toBe(true)
    expect(Object.values(x.node.sync.offences(a.node.peerId)).every((n) => n === 0)).toBe(true)
  })

  it('a node of the previous release (no credential in its hello) is refused by a closed network and syncs with an open one', async () => {
    const members = new Set<string>()
    const closed = await member(members)
    members.add(hex(closed.node.publicKey))
    const open = await startNode({ dataDir: await dirs.make(), trust, sync: quiet })
    const previous = await startNode({
      dataDir: await dirs.make(),
      trust,
      sync: { ...quiet, stores: ['revocations', 'supersessions', 'assertions'] },
    })
    nodes.push(open, previous)
    open.state.advanceVerified(coordinate(1), 1n)
    await previous.dial(closed.node.multiaddrs()[0]!)
    await previous.dial(open.multiaddrs()[0]!)
    await expect(previous.sync.syncWith(closed.node.peerId)).rejects.toMatchObject({ code: 'not-admitted' })
    const report = await previous.sync.syncWith(open.peerId)
    expect(report.error).toBeUndefined()
    expect(previous.state.tree('assertions').count()).toBe(1)
  })
})
