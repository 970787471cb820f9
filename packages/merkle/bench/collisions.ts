/**
 * `reconcile_collision_retry_rate`: of 10,000 small protocol-2 sessions (each with fresh salts),
 * the share that flagged a fingerprint collision and so needed a second session; and
 * `reconcile_collision_silent_rate`, the share whose result missed a difference without a flag
 * (found by a later session). Measured at the default width (4 bytes) and, to show the mechanism
 * at work, at 2 and 1 bytes, where collisions are common (`_fp2`, `_fp1`): there
 * `reconcile_collision_missed_after_retry` counts sessions whose retried result still missed one.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { blake3 } from '@noble/hashes/blake3.js'
import { open } from 'lmdb'
import type { SuiteContext } from '../../../bench/lib.js'
import { createReconciler, createResponder, type MerkleTree, openMerkleTree } from '../src/index.js'

const PAIRS = 10
const KEYS = 1000
const DIFFS = 12

interface Tally {
  sessions: number
  retries: number
  silent: number
  missedAfterRetry: number
}

function session(a: MerkleTree, b: MerkleTree, width: number) {
  const reconciler = createReconciler(a, { version: 2, fingerprintBytes: width })
  const responder = createResponder(b)
  for (let q = reconciler.next(); q !== undefined; q = reconciler.next())
    reconciler.receive(responder.respond(q))
  const result = reconciler.result()
  return {
    found: result.localOnly.length + result.remoteOnly.length + result.differing.length,
    collision: result.collision,
  }
}

/** Pairs of 1,000-key trees differing by 12 keys (a third each: only in A, only in B, changed). */
function buildPairs(env: ReturnType<typeof open>): Array<[MerkleTree, MerkleTree]> {
  const pairs: Array<[MerkleTree, MerkleTree]> = []
  const enc = new TextEncoder()
  for (let p = 0; p < PAIRS; p++) {
    const a = openMerkleTree(env, { name: `a${p}`, keysAreHashes: true })
    const b = openMerkleTree(env, { name: `b${p}`, keysAreHashes: true })
    const key = (i: number) => blake3(enc.encode(`pair${p}-key${i}`))
    const value = (v: string) => blake3(enc.encode(v))
    const third = DIFFS / 3
    a.update(
      Array.from({ length: KEYS }, (_, i) => ({ key: key(i), valueHash: value('v') })).slice(third, KEYS),
    )
    b.update(
      Array.from({ length: KEYS }, (_, i) => ({
        key: key(i),
        valueHash: value(i >= 2 * third && i < DIFFS ? 'w' : 'v'),
      })).filter((_, i) => i < third || i >= 2 * third),
    )
    pairs.push([a, b])
  }
  return pairs
}

function measure(pairs: Array<[MerkleTree, MerkleTree]>, width: number, sessions: number): Tally {
  const tally: Tally = { sessions: 0, retries: 0, silent: 0, missedAfterRetry: 0 }
  for (let s = 0; s < sessions; s++) {
    const [a, b] = pairs[s % pairs.length]!
    const first = session(a, b, width)
    tally.sessions++
    if (first.collision) {
      tally.retries++
      if (session(a, b, width).found < DIFFS) tally.missedAfterRetry++
    } else if (first.found < DIFFS) tally.silent++
  }
  return tally
}

export async function recordCollisionRates(ctx: SuiteContext): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'provsync-merkle-collisions-'))
  const env = open({ path: dir, maxDbs: 2 * PAIRS + 2 })
  try {
    const pairs = buildPairs(env)
    const sessions = ctx.quick ? 1000 : 10_000
    for (const [width, suffix] of [
      [4, ''],
      [2, '_fp2'],
      [1, '_fp1'],
    ] as const) {
      const started = performance.now()
      const t = measure(pairs, width, sessions)
      ctx.record(`reconcile_collision_retry_rate${suffix}`, t.retries / t.sessions, 'ratio')
      ctx.record(`reconcile_collision_silent_rate${suffix}`, t.silent / t.sessions, 'ratio')
      ctx.record(`reconcile_collision_missed_after_retry${suffix}`, t.missedAfterRetry, 'sessions')
      if (suffix === '') {
        ctx.record('reconcile_collision_sessions', t.sessions, 'sessions')
        ctx.record('reconcile_small_session_ms', (performance.now() - started) / t.sessions, 'ms')
      }
    }
  } finally {
    await env.close()
    rmSync(dir, { recursive: true, force: true })
  }
}
