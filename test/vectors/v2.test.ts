/**
 * Frozen vectors of merkle's reconciliation protocol 2 (salted fingerprints) and of the sync frames
 * that negotiate it. The v1 vectors (vectors.test.ts) stay as they were: a node of the previous
 * release keeps syncing with protocol 1, and this release still answers those frames byte for byte.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createReconciler, createResponder } from '@provsync/merkle'
import { open, type RootDatabase } from 'lmdb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeMessage } from '../../packages/sync/src/wire/codec.js'
import {
  buildMerkleV2Vectors,
  buildSyncV2Vectors,
  buildTree,
  type MerkleVectors,
  SESSION_SPECS,
  type SyncVectors,
  v2Options,
} from './build.js'

const here = new URL('.', import.meta.url).pathname
const load = <T>(path: string): T => JSON.parse(readFileSync(join(here, path), 'utf8')) as T
const BUMP = 'protocol change: bump the version'
const merkle = load<Pick<MerkleVectors, 'transcripts'>>('v2/merkle.json')
const sync = load<Pick<SyncVectors, 'frames'>>('v2/sync.json')
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')
const unhex = (text: string) => new Uint8Array(Buffer.from(text, 'hex'))

let env: RootDatabase
let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'provsync-vectors-v2-'))
  env = open({ path: dir, maxDbs: 64, keyEncoding: 'binary' })
})
afterAll(async () => {
  await env.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('frozen merkle vectors (v2: salted fingerprints)', () => {
  it('the same pairs and salts give the committed frames and results', () => {
    expect(buildMerkleV2Vectors(env), `${BUMP}: protocol 2 frames changed`).toEqual(merkle)
  })

  it('every first request names protocol 2 and carries the initiator salt', () => {
    for (const transcript of merkle.transcripts) {
      const first = unhex(transcript.requests[0]!)
      expect(first[1]).toBe(2)
      expect(hex(first.subarray(4, 20))).toBe('11'.repeat(16))
    }
  })

  it('a responder answers the committed requests with the committed responses', () => {
    for (const [i, spec] of SESSION_SPECS.entries()) {
      const transcript = merkle.transcripts[i]!
      const responder = createResponder(buildTree(env, spec.b), v2Options.responder)
      transcript.requests.forEach((request, round) => {
        expect(hex(responder.respond(unhex(request))), `${BUMP}: ${spec.name} response ${round}`).toBe(
          transcript.responses[round],
        )
      })
      expect(responder.done).toBe(true)
    }
  })

  it('a reconciler fed the committed responses sends the committed requests and finds the committed keys', () => {
    for (const [i, spec] of SESSION_SPECS.entries()) {
      const transcript = merkle.transcripts[i]!
      const reconciler = createReconciler(buildTree(env, spec.a), v2Options.initiator)
      const sent: string[] = []
      for (let request = reconciler.next(); request !== undefined; request = reconciler.next()) {
        sent.push(hex(request))
        reconciler.receive(unhex(transcript.responses[sent.length - 1]!))
      }
      expect(sent, `${BUMP}: ${spec.name} requests changed`).toEqual(transcript.requests)
      const result = reconciler.result()
      expect(result.collision).toBe(false)
      expect({
        localOnly: result.localOnly.map(hex).sort(),
        remoteOnly: result.remoteOnly.map(hex).sort(),
        differing: result.differing.map(hex).sort(),
      }).toEqual(transcript.result)
    }
  })
})

describe('frozen sync vectors (v2: negotiation)', () => {
  it('hello and welcome name version 2; the frames are the committed ones and decode back', () => {
    expect(buildSyncV2Vectors(merkle), `${BUMP}: sync frames of version 2 changed`).toEqual(sync)
    for (const frame of sync.frames) {
      const decoded = decodeMessage(unhex(frame.hex)) as { type: string; version?: number }
      expect(decoded.type).toBe(frame.name)
      if (decoded.version !== undefined) expect(decoded.version).toBe(2)
    }
  })
})
