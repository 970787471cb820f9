/**
 * bundle_import_verify_ratio: records imported per second (`importBundle` of a bundle of N
 * assertions into a fresh node: the verifying pass, the replay check and the applying pass) over
 * single-thread signature verification of the same records (decode + Ed25519 verify, this thread
 * only) in the same run; `bundle_import_reverify_ratio` the same for the import as it was before
 * it verified once (see importRate). Rounds alternate (verify, before, after) and each figure keeps
 * the best of three, so all see the same machine. `--quick`: 2,000 records instead of 20,000.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeAssertion, verifyAssertion } from '@provsync/crdt'
import { runSuite } from '../../../bench/lib.js'
import { importInspected } from '../src/import.js'
import { exportBundle, importBundle, inspectBundle } from '../src/index.js'
import { NETWORK, openIn, records, signer } from './records.js'

const work = mkdtempSync(join(tmpdir(), 'provsync-bundles-bench-'))

const open = (name: string) => openIn(work, name)

function verifyRate(all: readonly Uint8Array[]): number {
  const start = performance.now()
  for (const bytes of all) {
    if (!verifyAssertion(decodeAssertion(bytes, NETWORK), NETWORK))
      throw new Error('a bench record does not verify')
  }
  return all.length / ((performance.now() - start) / 1000)
}

/**
 * `verified-once`: `importBundle` (the verifying pass through the node's `verifyRecords`, the
 * applying pass from the kept handles). `reverify`: the code before that change, kept callable:
 * `inspectBundle` without a state (verifying on this thread) then `importInspected` (crdt's
 * `apply`, which verifies every record again).
 */
async function importRate(
  path: string,
  count: number,
  round: string,
  key: Uint8Array,
  mode: 'verified-once' | 'reverify',
): Promise<number> {
  const target = await open(`target-${round}`)
  const registry = join(work, `registry-${round}.json`)
  const start = performance.now()
  const result =
    mode === 'verified-once'
      ? await importBundle(target, path, { trustedKeys: [key], registry })
      : await importInspected(target, path, await inspectBundle(path, { trustedKeys: [key] }), registry)
  const rate = count / ((performance.now() - start) / 1000)
  if (result.records.assertions?.applied !== count)
    throw new Error(`imported ${result.records.assertions?.applied} of ${count}`)
  await target.close()
  rmSync(join(work, `target-${round}`), { recursive: true, force: true })
  return rate
}

await runSuite('bundles', async (ctx) => {
  const count = ctx.quick ? 2_000 : 20_000
  const all = records(count)
  const source = await open('source')
  for (let i = 0; i < all.length; i += 1000)
    await source.apply('assertions', all.slice(i, i + 1000), { from: source.publicKey })
  const exporter = signer(10_000)
  const path = join(work, 'bench.bundle')
  const exported = await exportBundle(source, path, { signers: [exporter], density: 'lite' })
  ctx.record('bundle_bytes_per_record', readFileSync(path).byteLength / count, 'bytes')
  await source.close()
  let verify = 0
  let imported = 0
  let reverify = 0
  // Rounds alternate verify, the code before (reverify) and after (verified-once), the order of
  // the two imports swapped each round; each figure keeps its best of three.
  for (let round = 0; round < 3; round++) {
    verify = Math.max(verify, verifyRate(all))
    const before = () => importRate(path, count, `${round}-r`, exporter.publicKey, 'reverify')
    const after = () => importRate(path, count, `${round}-v`, exporter.publicKey, 'verified-once')
    if (round % 2 === 0) {
      reverify = Math.max(reverify, await before())
      imported = Math.max(imported, await after())
    } else {
      imported = Math.max(imported, await after())
      reverify = Math.max(reverify, await before())
    }
  }
  ctx.record('bundle_verify_records_per_s', verify, 'records/s')
  ctx.record('bundle_import_records_per_s', imported, 'records/s')
  ctx.record('bundle_import_verify_ratio', imported / verify, 'ratio')
  ctx.record('bundle_import_reverify_records_per_s', reverify, 'records/s')
  ctx.record('bundle_import_reverify_ratio', reverify / verify, 'ratio')
  void exported
})
rmSync(work, { recursive: true, force: true })
process.exit(0)
