/**
 * Fuzz targets: every decoder a peer's bytes reach. Each either accepts an input, and then the
 * input must re-encode to exactly the same bytes, or refuses it with its package's typed error.
 * Anything else (a TypeError, a RangeError, another package's error, a different re-encoding) is
 * a finding.
 */
import {
  type AnyRecord,
  CrdtError,
  decodeCoordinate,
  decodeRecord,
  encodeAssertion,
  encodeCoordinate,
  encodeRevocation,
  encodeSupersession,
  RecordRefusedError,
  textProblem,
} from '@provsync/crdt'
import { decodeTimestamp, encodeTimestamp, HlcError } from '@provsync/hlc'
import { createReconciler, createResponder, type MerkleTree, ReconcileError } from '@provsync/merkle'
import { MalformedFrameError } from '@provsync/sync'
import type { RootDatabase } from 'lmdb'
import {
  decodeAnnouncement,
  decodeMessage,
  encodeAnnouncement,
  encodeMessage,
} from '../../packages/sync/src/wire/codec.js'
import { extendsCanonical, soleFieldBody } from '../../packages/sync/src/wire/extensions.js'
import { Frame } from '../../packages/sync/src/wire/sync.generated.js'
import type { MerkleVectors, RecordVector, SyncVectors } from '../vectors/build.js'
import { buildTree, SESSION_SPECS, unhex, VECTOR_NETWORK } from '../vectors/build.js'

export type Outcome = 'accepted' | 'refused'

export interface FuzzTarget {
  readonly name: string
  /** Valid inputs the mutations start from. */
  readonly seeds: readonly Uint8Array[]
  /** Runs one input; throws a {@link FuzzFinding} (or any unexpected error) on a finding. */
  run(input: Uint8Array): Outcome
  close?(): void
}

/** The decoder broke its contract on this input. */
export class FuzzFinding extends Error {
  constructor(
    readonly target: string,
    message: string,
    override readonly cause?: unknown,
  ) {
    super(`${target}: ${message}`)
    this.name = 'FuzzFinding'
  }
}

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(a, b) === 0

/** Accepts when `decode` returns and `encode` gives the input back; refuses on a `refusal` error. */
function roundTrip<T>(
  name: string,
  input: Uint8Array,
  decode: (bytes: Uint8Array) => T,
  encode: (value: T) => Uint8Array,
  isRefusal: (error: unknown) => boolean,
  matches: (again: Uint8Array, input: Uint8Array) => boolean = same,
): Outcome {
  let value: T
  try {
    value = decode(input)
  } catch (error) {
    if (isRefusal(error)) return 'refused'
    throw new FuzzFinding(name, `untyped failure ${describe(error)}`, error)
  }
  let again: Uint8Array
  try {
    again = encode(value)
  } catch (error) {
    throw new FuzzFinding(name, `accepted input does not re-encode: ${describe(error)}`, error)
  }
  if (!matches(again, input)) throw new FuzzFinding(name, 'accepted input re-encodes to other bytes')
  const problem = textProblemIn(value)
  if (problem !== undefined) throw new FuzzFinding(name, `accepted non-canonical text: ${problem}`)
  return 'accepted'
}

/** The first text field of a decoded value that is not canonical text, as `problem in "text"`. */
function textProblemIn(value: unknown): string | undefined {
  if (typeof value === 'string') {
    const problem = textProblem(value)
    return problem === undefined ? undefined : `${problem} in ${JSON.stringify(value)}`
  }
  if (typeof value !== 'object' || value === null || value instanceof Uint8Array) return undefined
  for (const item of Object.values(value)) {
    const problem = textProblemIn(item)
    if (problem !== undefined) return problem
  }
  return undefined
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
}

function reencodeRecord(any: AnyRecord): Uint8Array {
  if (any.type === 'assertion') return encodeAssertion(any.record, VECTOR_NETWORK)
  if (any.type === 'supersession') return encodeSupersession(any.record, VECTOR_NETWORK)
  return encodeRevocation(any.record, VECTOR_NETWORK)
}

const isRecordRefusal = (e: unknown) => e instanceof RecordRefusedError
const isFrameRefusal = (e: unknown) => e instanceof MalformedFrameError

/** A refusal with a code this release does not know decodes as 'unknown': compare at the frame level. */
function reencodeFrame(input: Uint8Array) {
  return (message: ReturnType<typeof decodeMessage>): Uint8Array =>
    message.type === 'refusal' && message.code === 'unknown'
      ? Frame.encode(Frame.decode(input))
      : encodeMessage(message)
}

/**
 * Hello and welcome may carry a later release's fields after their own: the input must be the
 * re-encoding followed by such a tail (sync's wire/extensions.ts), and nothing else may differ.
 */
function frameMatches(again: Uint8Array, input: Uint8Array): boolean {
  if (same(again, input)) return true
  const tag = again[0]
  const maxKnownField = tag === 0x0a ? 4 : tag === 0x12 ? 2 : undefined
  if (tag === undefined || maxKnownField === undefined) return false
  const known = soleFieldBody(again, tag)
  const actual = soleFieldBody(input, tag)
  return known !== undefined && actual !== undefined && extendsCanonical(known, actual, maxKnownField)
}

const announcementMatches = (again: Uint8Array, input: Uint8Array) => extendsCanonical(again, input, 4)

/** A whole merkle exchange step: `prefix` messages (valid) then the fuzzed one. */
function merkleTarget(name: string, seeds: Uint8Array[], step: (input: Uint8Array) => void): FuzzTarget {
  return {
    name,
    seeds,
    run(input) {
      try {
        step(input)
        return 'accepted'
      } catch (error) {
        if (error instanceof ReconcileError) return 'refused'
        throw new FuzzFinding(name, `untyped failure ${describe(error)}`, error)
      }
    },
  }
}

export interface Vectors {
  records: RecordVector[]
  merkle: MerkleVectors
  sync: SyncVectors
}

/** Every target, seeded from the frozen vectors; merkle targets build their trees in `env`. */
export function fuzzTargets(vectors: Vectors, env: RootDatabase): FuzzTarget[] {
  const recordSeeds = vectors.records.map((r) => unhex(r.hex))
  const coordinateSeeds = ['photos', 'café', '東京'].map((v) =>
    encodeCoordinate({ volume: v, destination: 'dst', origin: 'o' }),
  )
  return [
    {
      name: 'records',
      seeds: recordSeeds,
      run: (input) =>
        roundTrip('records', input, (b) => decodeRecord(b, VECTOR_NETWORK), reencodeRecord, isRecordRefusal),
    },
    {
      name: 'coordinates',
      seeds: coordinateSeeds,
      run: (input) =>
        roundTrip('coordinates', input, decodeCoordinate, encodeCoordinate, (e) => e instanceof CrdtError),
    },
    {
      name: 'timestamps',
      seeds: recordSeeds.map((r) => r.subarray(r.length - 80, r.length - 64)),
      run: (input) =>
        roundTrip('timestamps', input, decodeTimestamp, encodeTimestamp, (e) => e instanceof HlcError),
    },
    {
      name: 'sync-frames',
      seeds: vectors.sync.frames.map((f) => unhex(f.hex)),
      run: (input) =>
        roundTrip('sync-frames', input, decodeMessage, reencodeFrame(input), isFrameRefusal, frameMatches),
    },
    {
      name: 'announcements',
      seeds: vectors.sync.announcements.map((a) => unhex(a.hex)),
      run: (input) =>
        roundTrip(
          'announcements',
          input,
          (b) => decodeAnnouncement(b),
          encodeAnnouncement,
          isFrameRefusal,
          announcementMatches,
        ),
    },
    ...merkleTargets(vectors.merkle, env),
  ]
}

function merkleTargets(merkle: MerkleVectors, env: RootDatabase): FuzzTarget[] {
  const targets: FuzzTarget[] = []
  for (const [i, spec] of SESSION_SPECS.entries()) {
    const transcript = merkle.transcripts[i]!
    const a: MerkleTree = buildTree(env, spec.a)
    const b: MerkleTree = buildTree(env, spec.b)
    const requests = transcript.requests.map(unhex)
    const responses = transcript.responses.map(unhex)
    // The responder's first request, and a later one after the valid first exchange.
    targets.push(
      merkleTarget(`merkle-request-${spec.name}`, requests.slice(0, 1), (input) => {
        const responder = createResponder(b)
        try {
          responder.respond(input)
        } finally {
          responder.close()
        }
      }),
      merkleTarget(`merkle-response-${spec.name}`, responses.slice(0, 1), (input) => {
        const reconciler = createReconciler(a)
        try {
          reconciler.next()
          reconciler.receive(input)
        } finally {
          reconciler.close()
        }
      }),
    )
    if (requests.length > 1) {
      targets.push(
        merkleTarget(`merkle-request-2-${spec.name}`, requests.slice(1, 2), (input) => {
          const responder = createResponder(b)
          try {
            responder.respond(requests[0]!)
            responder.respond(input)
          } finally {
            responder.close()
          }
        }),
      )
    }
  }
  return targets
}
