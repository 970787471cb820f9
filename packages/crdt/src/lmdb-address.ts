/**
 * lmdb-js caches the native address of every value's ArrayBuffer on the buffer itself
 * (`buffer.address = getAddress(buffer)` in its `writeInstructions`, lmdb 3.5.6), so one hidden
 * class of V8's serves every ArrayBuffer a put has seen. An address below 2^30 (most of the
 * malloc heap here) is a small integer to V8, a higher one (an mmap-ed buffer) a heap number, and
 * storing a heap number where that class had only seen small integers makes V8 replace the class
 * and deprecate the old one. Once no live buffer holds the new class, the collector drops it and
 * the next small address creates a small-integer class again: measured in `apply-loop.ts` with
 * `--trace-deopt`, a long-lived buffer put from every batch met a deprecated class in every batch
 * (`writeInstructions` deoptimized 30 times in 30 batches of 1,000 records, each recompilation
 * 26-50 ms of a V8 helper thread; their CPU went from 21.5-29.5 to 18-20.5 µs per applied record
 * with this anchor, 3 alternated pairs at load 4-5, README "Session 12").
 *
 * This buffer, never handed to lmdb-js, holds an `address` that is not a small integer from the
 * moment the package loads, so the class every buffer goes to takes both kinds of number and stays
 * alive as long as the process: no replacement, no deprecation, no deoptimization.
 */
export const ADDRESS_ANCHOR: ArrayBuffer & { address?: number } = new ArrayBuffer(0)
// Not a small integer (any fraction does): the field's representation is a double from the start.
ADDRESS_ANCHOR.address = 0.5
