import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type Coordinate,
  encodeAssertion,
  encodeRevocation,
  encodeSupersession,
  generateSigner,
  type NodeState,
  type NodeStateOptions,
  nodeIdFor,
  openNodeState,
  type Signer,
  type SubjectKind,
  type SupersessionKind,
  signAssertion,
  signerFromSeed,
  signRevocation,
  signSupersession,
} from '@provsync/crdt'
import type { Timestamp } from '@provsync/hlc'

export const NETWORK = 'test-net'

/** A fixed wall clock well inside the drift guard of the real one. */
export const BASE_MS = Date.UTC(2026, 0, 1)

export function signerN(n: number): Signer {
  const seed = new Uint8Array(32)
  seed[0] = n & 0xff
  seed[1] = (n >> 8) & 0xff
  seed[31] = 0x5a
  return signerFromSeed(seed)
}

export function hlc(wallMs: number, counter = 0, signer?: Signer): Timestamp {
  return { wallMs, counter, nodeId: signer === undefined ? new Uint8Array(8) : nodeIdFor(signer.publicKey) }
}

export function coordinate(i: number | string, volume = 'vol'): Coordinate {
  return { volume, destination: 'dst', origin: `origin-${i}` }
}

export function assertionBytes(
  signer: Signer,
  coord: Coordinate,
  run: bigint,
  wallMs = BASE_MS,
  counter = 0,
  networkId = NETWORK,
): Uint8Array {
  const record = signAssertion(
    { coordinate: coord, run, method: 'checksum', hlc: hlc(wallMs, counter) },
    signer,
    networkId,
  )
  return encodeAssertion(record, networkId)
}

export function supersessionBytes(
  signer: Signer,
  target: Uint8Array,
  options: { kind?: SupersessionKind; replacement?: Uint8Array; wallMs?: number; reason?: string } = {},
): Uint8Array {
  const kind = options.kind ?? (options.replacement === undefined ? 'invalidate' : 'replace')
  const record = signSupersession(
    {
      target,
      kind,
      reason: options.reason ?? 'test',
      ...(options.replacement === undefined ? {} : { replacement: options.replacement }),
      hlc: hlc(options.wallMs ?? BASE_MS),
    },
    signer,
    NETWORK,
  )
  return encodeSupersession(record, NETWORK)
}

export function revocationBytes(
  operator: Signer,
  subject: Uint8Array,
  action: 'revoke' | 'reinstate' = 'revoke',
  wallMs = BASE_MS,
  subjectKind: SubjectKind = 'peer',
): Uint8Array {
  const record = signRevocation(
    { action, subjectKind, subject, reason: 'compromised', hlc: hlc(wallMs) },
    operator,
    NETWORK,
  )
  return encodeRevocation(record, NETWORK)
}

export function hash32(n: number): Uint8Array {
  const out = new Uint8Array(32)
  out[0] = n & 0xff
  out[1] = (n >> 8) & 0xff
  out[31] = 0xaa
  return out
}

/** Temporary data directories that are removed by {@link TempDirs.cleanup}. */
export class TempDirs {
  private readonly dirs: string[] = []
  private readonly states: NodeState[] = []

  dir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'provsync.crdt.'))
    this.dirs.push(dir)
    return dir
  }

  async open(options: Partial<NodeStateOptions> = {}): Promise<NodeState> {
    const state = await openNodeState({
      dataDir: options.dataDir ?? this.dir(),
      networkId: NETWORK,
      verifyThreads: 0,
      ...options,
    })
    this.states.push(state)
    return state
  }

  async cleanup(): Promise<void> {
    for (const state of this.states.splice(0)) await state.close()
    for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
  }
}

export { generateSigner }
