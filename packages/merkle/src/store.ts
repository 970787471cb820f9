import { type Database, type RootDatabase, type Transaction, TransactionFlags } from 'lmdb'
import type { VerifyReport } from './tree.js'
import { verifyTree } from './verify.js'

/** lmdb-js read options naming a snapshot's read transaction. */
export interface ReadAt {
  transaction: Transaction
}

/**
 * The LMDB side of one tree: its sub-database and every read and write the trie algorithm makes
 * (`tree.ts` holds the algorithm and never touches lmdb-js itself). It uses lmdb-js's public,
 * typed API only, and knows whether it runs inside a write transaction from what it did, not from
 * lmdb-js's internals:
 *
 * - {@link write} runs a batch through `transactionSync` with `TransactionFlags.SYNCHRONOUS_COMMIT`
 *   and no `ABORTABLE` bit: inside the caller's write transaction lmdb-js then runs the callback in
 *   that transaction (no child transaction, which would copy again every page the parent already
 *   dirtied and halved the build rate); outside one, it begins and commits a transaction of its own.
 * - A snapshot read must not go through an open write transaction (lmdb-js point reads do, whatever
 *   transaction they name; range reads honour it). While {@link write} runs the store knows it is
 *   inside one. After a write the caller's transaction may still be open, so the store asks lmdb-js
 *   (`getWriteTxnId`, which throws when none is open: ~15-18 µs, against ~1 µs for a point read)
 *   at the next snapshot read, and stops asking once none is. A snapshot read inside a write
 *   transaction in which this tree was not written reads through it; nothing in provsync does that.
 */
export class NodeStore {
  readonly #env: RootDatabase
  readonly #db: Database<Uint8Array, Uint8Array>
  /** Depth of {@link write} calls running now. */
  #writing = 0
  /** A write ran since lmdb-js last said no write transaction was open. */
  #mayBeInWrite = false
  /** The last buffer lent by getBinaryFast and a plain view over it (see {@link lend}). */
  #lentBuffer: ArrayBufferLike | undefined
  #lentPlain: Uint8Array = new Uint8Array(0)

  constructor(env: RootDatabase, name: string) {
    this.#env = env
    this.#db = env.openDB<Uint8Array, Uint8Array>({ name, keyEncoding: 'binary', encoding: 'binary' })
  }

  /** Runs `body` in a write transaction: the caller's when one is open, else one of its own. */
  write<T>(body: () => T): T {
    try {
      return this.#env.transactionSync(() => {
        this.#writing++
        try {
          return body()
        } finally {
          this.#writing--
        }
      }, TransactionFlags.SYNCHRONOUS_COMMIT)
    } finally {
      this.#mayBeInWrite = true
    }
  }

  /** A point read, live or in a snapshot's transaction (`at`). */
  get(key: Uint8Array, at?: ReadAt): Uint8Array | undefined {
    if (at === undefined || !this.#inWrite()) return this.#db.get(key, at)
    for (const { value } of this.#db.getRange({ start: key, end: key, inclusiveEnd: true, ...at })) {
      return value
    }
    return undefined
  }

  /**
   * A live point read lent out of lmdb-js's shared read buffer (getBinaryFast), valid until the next
   * read: its length, or -1 when `key` is absent. The bytes are the first `length` of {@link lent},
   * a plain Uint8Array over that buffer: element reads on the lent Buffer (which carries a `length`
   * property of its own) are slow, and a view per read would allocate.
   */
  lend(key: Uint8Array): number {
    const lent = this.#db.getBinaryFast(key)
    if (lent === undefined) return -1
    if (lent.buffer !== this.#lentBuffer || lent.byteOffset !== this.#lentPlain.byteOffset) {
      this.#lentBuffer = lent.buffer
      this.#lentPlain = new Uint8Array(lent.buffer, lent.byteOffset, lent.byteLength)
    }
    return lent.length
  }

  /** The buffer the last {@link lend} lent (see there). */
  get lent(): Uint8Array {
    return this.#lentPlain
  }

  /** Whether `key` is stored, read live. */
  has(key: Uint8Array): boolean {
    return this.#db.getBinaryFast(key) !== undefined
  }

  put(key: Uint8Array, value: Uint8Array): void {
    this.#db.putSync(key, value)
  }

  remove(key: Uint8Array): void {
    this.#db.removeSync(key)
  }

  /** Entries with `start <= key < end` in key order, live or in a snapshot's transaction. */
  range(start: Uint8Array, end: Uint8Array, at?: ReadAt): Iterable<{ key: Uint8Array; value: Uint8Array }> {
    return this.#db.getRange({ start, end, ...at })
  }

  /** A read transaction for a snapshot; end it with `done()`. */
  readTransaction(): Transaction {
    return this.#db.useReadTransaction()
  }

  verify(keysAreHashes: boolean): VerifyReport {
    return verifyTree(this.#db, keysAreHashes)
  }

  #inWrite(): boolean {
    if (this.#writing > 0) return true
    if (!this.#mayBeInWrite) return false
    try {
      // With a write worker, lmdb-js may answer 0 instead of throwing when none is open.
      if (this.#env.getWriteTxnId() > 0) return true
    } catch {
      // None is open.
    }
    this.#mayBeInWrite = false
    return false
  }
}
