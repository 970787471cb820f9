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

describe('a full disk', () => {
  it('stops writes with a typed error naming ENOSPC, keeps reads, and resumes when space is back', async () => {
    const dataDir = join(mountPoint, 'node')
    mkdirSync(dataDir)
    const state = await openNodeState({
      dataDir,
      networkId: NETWORK,
      verifyThreads: 0,
      writeProbeMs: 20,
      writeResumeFreeBytes: 2 ** 20,
    })
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
    const dataDir = join(mountPoint, 'closing')
    mkdirSync(dataDir)
    const state = await openNodeState({
      dataDir,
      networkId: NETWORK,
      verifyThreads: 0,
      writeProbeMs: 20,
      writeResumeFreeBytes: 2 ** 20,
    })
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
