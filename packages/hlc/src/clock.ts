import { ClockDriftError, ClockExhaustedError, ClockOptionsError, WallClockError } from './errors.js'
import type { HighWaterMarkStore } from './store.js'
import {
  assertNodeId,
  assertTimestamp,
  isIntegerIn,
  MAX_COUNTER,
  MAX_WALL_MS,
  type Timestamp,
} from './timestamp.js'

export const DEFAULT_MAX_DRIFT_MS = 60_000
export const DEFAULT_RESERVE_MS = 1_000

export interface ClockOptions {
  /** This node's id, {@link NODE_ID_BYTES} bytes; the clock keeps its own copy. */
  nodeId: Uint8Array
  /**
   * Milliseconds since the epoch; fractions are floored.
   *
   * @default Date.now
   */
  wallClock?: () => number
  /**
   * How far ahead of the wall clock a remote timestamp, or this clock, may be.
   *
   * @default 60_000
   */
  maxDriftMs?: number
  /**
   * Persists the high-water mark so a restarted clock never goes below what it issued.
   *
   * @default undefined (nothing persisted)
   */
  store?: HighWaterMarkStore
  /**
   * With a store: how far past the issued wall time each saved mark reaches, so the clock writes
   * at most once per `reserveMs` of logical time. A restarted clock resumes above the mark, up to
   * `reserveMs` ahead of the wall clock, so it must not exceed `maxDriftMs`.
   *
   * @default min(1_000, maxDriftMs), at least 1
   */
  reserveMs?: number
}

export interface HybridLogicalClock {
  readonly nodeId: Uint8Array
  /** Local or send event: a timestamp above every one this clock issued or received. */
  now(): Timestamp
  /** Receive event: a timestamp above `remote` and above every earlier one. Unchanged on error. */
  update(remote: Timestamp): Timestamp
  /** The drift guard alone: throws {@link ClockDriftError} if `remote` is too far ahead. */
  check(remote: Timestamp): void
  /** The latest timestamp this clock issued since it was created. */
  last(): Timestamp | undefined
}

/**
 * A hybrid logical clock after Kulkarni et al., "Logical Physical Clocks" (2014).
 *
 * State is (logical ms, counter). Logical ms never falls below the wall clock and never steps
 * forward to more than `maxDriftMs` ahead of it; when the 16-bit counter is full the clock moves
 * to the next millisecond, and if that would cross the drift bound it refuses with
 * {@link ClockExhaustedError} instead, until the wall clock catches up.
 */
export function createClock(options: ClockOptions): HybridLogicalClock {
  assertNodeIdOption(options.nodeId)
  const nodeId = new Uint8Array(options.nodeId)
  const wallClock = options.wallClock ?? Date.now
  const maxDriftMs = options.maxDriftMs ?? DEFAULT_MAX_DRIFT_MS
  if (!isIntegerIn(maxDriftMs, 0, MAX_WALL_MS)) {
    throw new ClockOptionsError('maxDriftMs', `must be a non-negative integer, got ${maxDriftMs}`)
  }
  const store = options.store
  const reserveMs = options.reserveMs ?? Math.max(1, Math.min(DEFAULT_RESERVE_MS, maxDriftMs))
  if (!isIntegerIn(reserveMs, 1, Math.max(1, maxDriftMs))) {
    throw new ClockOptionsError('reserveMs', `must be an integer in [1, maxDriftMs], got ${reserveMs}`)
  }

  // (wall, counter) is the greatest time issued so far, or the loaded mark; the next timestamp
  // must be strictly above it. Counter -1 means "nothing yet", so the first can be (0, 0).
  let wall = 0
  let counter = -1
  // Logical ms from which the next issue must first save a new mark; Infinity without a store.
  let reservedUntil = Number.POSITIVE_INFINITY
  let last: Timestamp | undefined

  if (store !== undefined) {
    const mark = store.load()
    if (mark !== undefined) {
      assertTimestamp(mark)
      wall = mark.wallMs
      counter = mark.counter
    }
    reservedUntil = wall
  }

  function readWall(): number {
    const value = wallClock()
    const ms = Math.floor(value)
    if (!(ms >= 0 && ms <= MAX_WALL_MS)) throw new WallClockError(value)
    return ms
  }

  function guardDrift(remote: Timestamp, wallMs: number): void {
    if (remote.wallMs - wallMs > maxDriftMs) throw new ClockDriftError(remote, wallMs, maxDriftMs)
  }

  function issue(nextWall: number, nextCounter: number, wallMs: number): Timestamp {
    if (nextCounter > MAX_COUNTER) {
      nextWall += 1
      nextCounter = 0
    }
    // Only a move forward is refused: after the wall clock steps back, the clock may already sit
    // beyond the bound, and counting on within the same millisecond stays allowed.
    if (nextWall > wall && (nextWall > wallMs + maxDriftMs || nextWall > MAX_WALL_MS)) {
      throw new ClockExhaustedError(wallMs, nextWall, maxDriftMs)
    }
    if (nextWall >= reservedUntil) reserve(nextWall, wallMs, nextWall > wall)
    wall = nextWall
    counter = nextCounter
    last = { wallMs: nextWall, counter: nextCounter, nodeId }
    return last
  }

  // Saves a mark above `issuedWall` before that timestamp is handed out (a crash in between must
  // not lose it). The mark reaches `reserveMs` ahead, so a busy clock writes about once per
  // `reserveMs`, but never past the drift bound. When the clock merely counts on in the
  // millisecond it loaded after a restart, the mark is measured from the wall clock instead, or
  // a crash loop would walk the clock `reserveMs` into the future on every restart.
  function reserve(issuedWall: number, wallMs: number, advancing: boolean): void {
    const reach = advancing ? issuedWall + reserveMs : wallMs + reserveMs
    const markWall = Math.max(issuedWall + 1, Math.min(reach, wallMs + maxDriftMs))
    if (markWall <= MAX_WALL_MS) {
      store!.save({ wallMs: markWall, counter: 0, nodeId })
      reservedUntil = markWall
    } else {
      store!.save({ wallMs: MAX_WALL_MS, counter: MAX_COUNTER, nodeId })
      reservedUntil = Number.POSITIVE_INFINITY
    }
  }

  return {
    nodeId,
    now() {
      const wallMs = readWall()
      return wallMs > wall ? issue(wallMs, 0, wallMs) : issue(wall, counter + 1, wallMs)
    },
    update(remote) {
      assertTimestamp(remote)
      const wallMs = readWall()
      guardDrift(remote, wallMs)
      const nextWall = Math.max(wall, remote.wallMs, wallMs)
      if (nextWall === wall && nextWall === remote.wallMs) {
        return issue(nextWall, Math.max(counter, remote.counter) + 1, wallMs)
      }
      if (nextWall === wall) return issue(nextWall, counter + 1, wallMs)
      if (nextWall === remote.wallMs) return issue(nextWall, remote.counter + 1, wallMs)
      return issue(nextWall, 0, wallMs)
    },
    check(remote) {
      assertTimestamp(remote)
      guardDrift(remote, readWall())
    },
    last: () => last,
  }
}

function assertNodeIdOption(nodeId: unknown): asserts nodeId is Uint8Array {
  try {
    assertNodeId(nodeId)
  } catch (error) {
    throw new ClockOptionsError('nodeId', (error as Error).message)
  }
}
