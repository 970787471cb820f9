/**
 * bundle_import_verify_ratio: records imported per second (`importBundle` of a bundle of N
 * assertions into a fresh node: the verifying pass, the replay check and the applying pass) over
 * single-thread signature verification of the same records (decode + Ed25519 verify, this thread
 * only) in the same run. Rounds alternate (verify, import) and each figure keeps the best of
 * three, so both see the same machine. `--quick`: 2,000 records instead of 20,000.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  decodeAssertion,
  encodeAssertion,
  nodeIdFor,
  openNodeState,
  type Signer,
  signAssertion,
  signerFromSeed,
  verifyAssertion,
} from '@provsync/crdt'
import { runSuite } from '../../../bench/lib.js'
import { exportBundle, importBundle } from '../src/index.js'

const NETWORK = 'bundle-bench'
const work = mkdtempSync(join(tmpdir(), 'provsync-bundles-bench-'))

function signer(n: number): Signer {
  const seed = new Uint8Array(32)
  new DataView(seed.buffer).setUint32(0, n + 1)
  seed[31] = 0x5e
  return signerFromSeed(seed)
}

function records(count: number): Uint8Array[] {
  const signers = Array.from({ length: 64 }, (_, i) => signer(i))
  const base = Date.UTC(2026, 0, 1)
  return Array.from({ length: count }, (_, i) => {
    const s = signers[i % signers.length]!
    const hlc = { wallMs: base + i, counter: 0, nodeId: nodeIdFor(s.publicKey) }
    const coordinate = { volume: `vol-${i % 97}`, destination: 'offsite', origin: `host-${i}` }
    return encodeAssertion(
      signAssertion({ coordinate, run: BigInt(i + 1), method: 'checksum', hlc }, s, NETWORK),
      NETWORK,
    )
  })
}

const open = (name: string) =>
  openNodeState({ dataDir: join(work, name), networkId: NETWORK, trust: [], noSync: true })

function verifyRate(all: readonly Uint8Array[]): number {
  const start = performance.now()
  for (const bytes of all) {
    if (!verifyAssertion(decodeAssertion(bytes, NETWORK), NETWORK))
      throw new Error('a bench record does not verify')
  }
  return all.length / ((performance.now() - start) / 1000)
}

async function importRate(path: string, count: number, round: number, key: Uint8Array): Promise<number> {
  const target = await open(`target-${round}`)
  const start = performance.now()
  const result = await importBundle(target, path, {
    trustedKeys: [key],
    registry: join(work, `registry-${round}.json`),
  })
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
  for (let round = 0; round < 3; round++) {
    verify = Math.max(verify, verifyRate(all))
    imported = Math.max(imported, await importRate(path, count, round, exporter.publicKey))
  }
  ctx.record('bundle_verify_records_per_s', verify, 'records/s')
  ctx.record('bundle_import_records_per_s', imported, 'records/s')
  ctx.record('bundle_import_verify_ratio', imported / verify, 'ratio')
  void exported
})
rmSync(work, { recursive: true, force: true })
process.exit(0)
