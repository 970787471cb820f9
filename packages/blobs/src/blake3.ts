import { createRequire } from 'node:module'
import { createBLAKE3 } from 'hash-wasm'
import { HASH_BYTES } from './constants.js'

/**
 * One BLAKE3 hasher reused for every hash (JS is single-threaded and no caller re-enters it):
 * `init`, any number of `update`s, then `digest` (32 bytes).
 */
export interface Blake3 {
  readonly name: 'native' | 'wasm'
  init(): void
  update(bytes: Uint8Array): void
  digest(): Uint8Array
}

/** hash-wasm's BLAKE3 (WebAssembly, no SIMD): runs everywhere; loads once, at import. */
export async function wasmBlake3(): Promise<Blake3> {
  const h = await createBLAKE3(HASH_BYTES * 8)
  return {
    name: 'wasm',
    init: () => h.init(),
    update: (bytes) => h.update(bytes),
    digest: () => h.digest('binary'),
  }
}

interface NativeHasher {
  reset(): void
  update(input: Uint8Array): unknown
  digest(format: 'hex'): string
}

/**
 * `@napi-rs/blake-hash`'s BLAKE3 (the Rust `blake3` crate, SIMD, prebuilt per platform as an
 * optional package: no install script, no compiler). Undefined where no binary was installed
 * for this platform. 7-8× hash-wasm on 256 KiB chunks here (4.0-4.1 against 0.52-0.57 GiB/s,
 * load 6.6: README, "Performance round 4"; `bench/hash-probe.ts`), byte for byte the same hashes
 * (`test/blake3.test.ts`).
 */
export function nativeBlake3(): Blake3 | undefined {
  let Hasher: new () => NativeHasher
  try {
    Hasher = createRequire(import.meta.url)('@napi-rs/blake-hash').Blake3Hasher
  } catch {
    return undefined
  }
  const h = new Hasher()
  return {
    name: 'native',
    init: () => h.reset(),
    update: (bytes) => {
      h.update(bytes)
    },
    // As hex, not `digestBuffer()`: a napi Buffer per digest is external memory freed only by
    // its finalizer, and 24,576 of them raised RSS by 13 MiB against 4 MiB as strings, at 2.5×
    // the time (2026-12-06). Small typed arrays live on the V8 heap.
    digest: () => new Uint8Array(Buffer.from(h.digest('hex'), 'hex')),
  }
}

/**
 * The native hasher where it loads, hash-wasm otherwise; `PROVSYNC_BLAKE3=wasm` forces hash-wasm
 * (the benches compare the two, the tests run both).
 */
export async function loadBlake3(): Promise<Blake3> {
  const native = process.env.PROVSYNC_BLAKE3 === 'wasm' ? undefined : nativeBlake3()
  return native ?? (await wasmBlake3())
}
