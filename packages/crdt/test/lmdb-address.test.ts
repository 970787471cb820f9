import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

/** The module that opens LMDB, which loads the anchor with it. */
const DB = fileURLToPath(new URL('../src/db.ts', import.meta.url))

/**
 * In a fresh process (V8's hidden classes are per process), a long-lived ArrayBuffer gets a small
 * integer `address` (as lmdb-js stores on a buffer at a low heap address), then another gets one
 * above 2^30 (an mmap-ed buffer), then a third a small one again. Prints whether the long-lived
 * buffer still shares its hidden class with the other two (V8's %HaveSameMap).
 */
function sameClasses(withAnchor: boolean): boolean[] {
  const script = `
    ${withAnchor ? `await import(${JSON.stringify(DB)})` : ''}
    const long = new ArrayBuffer(8); long.address = 1000
    const large = new ArrayBuffer(8); large.address = 2 ** 40
    const later = new ArrayBuffer(8); later.address = 2000
    console.log(JSON.stringify([%HaveSameMap(long, large), %HaveSameMap(long, later)]))`
  const child = spawnSync(
    process.execPath,
    ['--allow-natives-syntax', '--import', 'tsx', '--input-type=module', '-e', script],
    { encoding: 'utf8' },
  )
  expect(child.stderr).toBe('')
  return JSON.parse(child.stdout) as boolean[]
}

describe("lmdb-js's address cache and V8's hidden classes (lmdb-address.ts)", () => {
  it('without the anchor, a heap-number address deprecates the class a long-lived buffer holds', () => {
    // What the anchor is for: if V8 stops doing this, the anchor can go.
    expect(sameClasses(false)).toEqual([false, false])
  })

  it('once the module that opens LMDB is loaded, buffers given small and large addresses keep one class', () => {
    expect(sameClasses(true)).toEqual([true, true])
  })
})
