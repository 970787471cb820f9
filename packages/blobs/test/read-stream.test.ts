import { buildManifest, type Manifest } from '@provsync/blobs'
import { describe, expect, it } from 'vitest'
import { type RangeSource, readBlob } from '../src/read-stream.js'

const KiB = 1024
const CHUNK = 16 * KiB

interface Pending {
  resolve: () => void
  reject: (err: unknown) => void
}

/**
 * A store whose windows deliver every chunk at once but commit only when the test says so: what
 * a window looks like while its last pack writes and its index transaction are under way.
 */
class SlowCommits implements RangeSource {
  /** First chunk of each window asked for, in order. */
  readonly asked: number[] = []
  readonly commits = new Map<number, Pending>()

  constructor(readonly blob: Manifest) {}

  async manifest(): Promise<Manifest> {
    return this.blob
  }

  rangeInto(
    _id: Uint8Array,
    first: number,
    count: number,
    deliver: (index: number, bytes: Uint8Array) => void,
  ): Promise<void> {
    this.asked.push(first)
    for (let i = first; i < first + count; i++) deliver(i, new Uint8Array(CHUNK).fill(i))
    return new Promise<void>((resolve, reject) => this.commits.set(first, { resolve, reject }))
  }
}

/** Resolves with whether `p` settled within a few event-loop turns. */
async function settlesSoon(p: Promise<unknown>): Promise<boolean> {
  let settled = false
  p.then(
    () => (settled = true),
    () => (settled = true),
  )
  await new Promise((resolve) => setTimeout(resolve, 20))
  return settled
}

function blobOf(chunks: number): Manifest {
  return buildManifest(CHUNK, chunks * CHUNK, new Uint8Array(chunks * 32))
}

describe('read-ahead windows', () => {
  it('asks for the window after next once a window is read, before that window has committed', async () => {
    const store = new SlowCommits(blobOf(8))
    const read = readBlob(store, store.blob.id, { readAheadChunks: 2 })
    expect((await read.next()).value![0]).toBe(0)
    expect((await read.next()).value![0]).toBe(1)
    expect(store.asked).toEqual([0, 2])
    // The reader moves to window 2: window 4 is asked for while window 0 is still committing.
    expect((await read.next()).value![0]).toBe(2)
    expect(store.asked).toEqual([0, 2, 4])
    expect((await read.next()).value![0]).toBe(3)
    // Window 2 read too: window 6 waits for window 0's commit (one window committing at most).
    const third = read.next()
    expect(await settlesSoon(third)).toBe(false)
    expect(store.asked).toEqual([0, 2, 4])
    store.commits.get(0)!.resolve()
    expect((await third).value![0]).toBe(4)
    expect(store.asked).toEqual([0, 2, 4, 6])
    for (const first of [2, 4, 6]) store.commits.get(first)!.resolve()
    const rest: number[] = []
    for await (const piece of read) rest.push(piece[0]!)
    expect(rest).toEqual([5, 6, 7])
  })

  it('the read ends only once its last window committed', async () => {
    const store = new SlowCommits(blobOf(4))
    const read = readBlob(store, store.blob.id, { readAheadChunks: 2 })
    for (let i = 0; i < 4; i++) expect((await read.next()).value![0]).toBe(i)
    store.commits.get(0)!.resolve()
    const end = read.next()
    expect(await settlesSoon(end)).toBe(false)
    store.commits.get(2)!.resolve()
    expect((await end).done).toBe(true)
  })

  it('a window whose commit fails after its chunks were read fails the read', async () => {
    const store = new SlowCommits(blobOf(6))
    const read = readBlob(store, store.blob.id, { readAheadChunks: 2 })
    for (let i = 0; i < 4; i++) expect((await read.next()).value![0]).toBe(i)
    const failure = new Error('index commit failed')
    store.commits.get(0)!.reject(failure)
    await expect(read.next()).rejects.toBe(failure)
  })
})
