/**
 * A full disk: the test mounts a small tmpfs of its own (CI runs as root) and fills it. When it
 * cannot mount one it fails with the reason; it never passes without having run.
 */
import { execFileSync } from 'node:child_process'
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type NodeState,
  openNodeState,
  WriteFailedError,
  type WriteHealth,
  WritesSuspendedError,
} from '@provsync/crdt'
import { sleep } from '@provsync/testing'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { openEnvironment } from '../src/db.js'
import { guardWrites } from '../src/write-health.js'
import { assertionBytes, coordinate, NETWORK, signerN } from './helpers.js'

let mountPoint = ''
const unhandled: unknown[] = []
const onUnhandled = (reason: unknown) => unhandled.push(reason)

beforeAll(() => {
  const uid = process.getuid?.()
  if (uid !== 0) throw new Error(`this test mounts a tmpfs and needs root; running as uid ${uid}`)
  mountPoint = mkdtempSync(join(tmpdir(), 'provsync.full-disk.'))
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', mountPoint], { stdio: 'pipe' })
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim()
    throw new Error(`cannot mount a tmpfs on ${mountPoint}: ${stderr || String(error)}`)
  }
  process.on('unhandledRejection', onUnhandled)
})

afterAll(() => {
  process.off('unhandledRejection', onUnhandled)
  if (mountPoint === '') return
  execFileSync('umount', [mountPoint], { stdio: 'pipe' })
  rmSync(mountPoint, { recursive: true, force: true })
})

const open: NodeState[] = []
afterEach(async () => {
  for (const state of open.splice(0)) await state.close()
})

/** Fills the file system with a filler file until a write fails with ENOSPC; returns its path. */
function fillDisk(dir: string): string {
  const path = join(dir, 'filler')
  const fd = openSync(path, 'w')
  const chunk = Buffer.alloc(64 * 1024, 1)
  try {
    for (let i = 0; i < 10_000; i++) writeSync(fd, chunk)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error
    // Fill the last bytes too.
    for (let size = 4096; size >= 1; size >>= 1) {
      try {
        for (;;) writeSync(fd, chunk.subarray(0, size))
      } catch {
        // This size no longer fits; try a smaller one.
      }
    }
    return path
  } finally {
    closeSync(fd)
  }
  throw new Error(`the file system at ${dir} never filled up`)
}

const batch = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => assertionBytes(signerN(1), coordinate(from + i), 1n))

const nextHealth = (state: NodeState) =>
  new Promise<WriteHealth>((resolve) => {
    const off = state.onWriteHealth((health) => {
      off()
      resolve(health)
    })
  })

const settle = () => sleep(50)

/** A node state in a fresh directory `name` on the test's tmpfs, probing suspended writes every 20 ms. */
async function openOnTmpfs(name: string): Promise<NodeState> {
  const dataDir = join(mountPoint, name)
  mkdirSync(dataDir)
  return openNodeState({
    dataDir,
    networkId: NETWORK,
    verifyThreads: 0,
    writeProbeMs: 20,
    writeResumeFreeBytes: 2 ** 20,
  })
}

describe('a full disk', () => {
  it('stops writes with a typed error naming ENOSPC, keeps reads, and resumes when space is back', async () => {
    const state = await openOnTmpfs('node')
    open.push(state)
    const from = signerN(1).publicKey
    expect(
      (await state.apply('assertions', batch(0, 20), { from })).every((o) => o.status === 'applied'),
    ).toBe(true)
    const root = state.tree('assertions').root()
    const filler = fillDisk(mountPoint)

    const stopped = nextHealth(state)
    // 300 records: the size that used lmdb-js's asynchronous commit before.
    const failed = await state.apply('assertions', batch(1000, 300), { from }).catch((e: unknown) => e)
    expect(failed).toBeInstanceOf(WriteFailedError)
    expect((failed as WriteFailedError).code).toBe('ENOSPC')
    expect((failed as WriteFailedError).message).toMatch(/ENOSPC/)
    expect(await stopped).toMatchObject({ writable: false, code: 'ENOSPC' })
    expect(state.writeHealth().sinceMs).toBeTypeOf('number')

    // Refused without touching the disk; reads and the gate still answer.
    await expect(state.apply('assertions', batch(2000, 5), { from })).rejects.toBeInstanceOf(
      WritesSuspendedError,
    )
    expect(state.tree('assertions').root()).toEqual(root)
    expect(state.tree('assertions').count()).toBe(20)
    expect(state.gate(coordinate(0), 1n).allowed).toBe(true)
    await settle()
    expect(unhandled).toEqual([])

    const resumed = nextHealth(state)
    rmSync(filler)
    expect(await resumed).toMatchObject({ writable: true })
    expect(state.writeHealth()).toEqual({ writable: true, failures: state.writeHealth().failures })
    const outcomes = await state.apply('assertions', batch(1000, 300), { from })
    expect(outcomes.every((o) => o.status === 'applied')).toBe(true)
    expect(state.tree('assertions').count()).toBe(320)
    await state.close()
    expect(unhandled).toEqual([])
  })

  it('closes while writes are suspended', async () => {
    const state = await openOnTmpfs('closing')
    const from = signerN(1).publicKey
    const filler = fillDisk(mountPoint)
    try {
      await expect(state.apply('assertions', batch(0, 300), { from })).rejects.toBeInstanceOf(
        WriteFailedError,
      )
      await expect(state.apply('assertions', batch(0, 300), { from })).rejects.toBeInstanceOf(
        WritesSuspendedError,
      )
      await state.close()
      expect(state.writeHealth().writable).toBe(false)
      await settle()
      expect(unhandled).toEqual([])
    } finally {
      rmSync(filler)
    }
  })
})

describe('the write guard', () => {
  it("runs crdt's transactions through its own wrapper and leaves lmdb-js's environment as it is", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'provsync.write-guard.'))
    const env = openEnvironment(dataDir, { noSync: true })
    try {
      const meta = env.openDB<unknown, string>({ name: 'meta' })
      const lmdbOwn = env.transactionSync
      const guard = guardWrites(env, meta, { dataDir })
      expect(Object.hasOwn(env, 'transactionSync')).toBe(false)
      expect(env.transactionSync).toBe(lmdbOwn)
      // Nested calls join the outer transaction: both writes commit together.
      const result = guard.transaction(() => {
        meta.put('a', 1)
        return guard.transaction(() => {
          meta.put('b', 2)
          return 'done'
        })
      })
      expect(result).toBe('done')
      expect([meta.get('a'), meta.get('b')]).toEqual([1, 2])
      // An exception of the callback's own is no write failure: thrown as it is, writes go on.
      expect(() =>
        guard.transaction(() => {
          meta.put('c', 3)
          throw new RangeError('callback failed')
        }),
      ).toThrow(RangeError)
      expect(guard.health()).toEqual({ writable: true, failures: 0 })
      guard.close()
    } finally {
      await env.close()
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})
