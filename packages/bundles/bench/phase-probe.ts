/**
 * Where a bundle import's time goes (not a bench suite: run by hand,
 * `npx tsx packages/bundles/bench/phase-probe.ts [records]`): single-thread verification, the
 * verifying pass alone (`inspectBundle` through a node state), the applying pass alone
 * (`importInspected` from the kept handles), and the bundle side's own work without signatures
 * (reading and BLAKE3 of the records part, decoding each record), with the load average.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeAssertion, decodeRecord, verifyAssertion } from '@provsync/crdt'
import { createBLAKE3 } from 'hash-wasm'
import { importInspected } from '../src/import.js'
import { exportBundle, inspectBundle } from '../src/index.js'
import { NETWORK, openIn, records, signer } from './records.js'

const count = Number(process.argv[2] ?? 20_000)
const work = mkdtempSync(join(tmpdir(), 'provsync-bundle-phases-'))
const all = records(count)
const open = (name: string) => openIn(work, name)
const source = await open('source')
for (let i = 0; i < all.length; i += 1000)
  await source.apply('assertions', all.slice(i, i + 1000), { from: source.publicKey })
const exporter = signer(10_000)
const path = join(work, 'b.bundle')
await exportBundle(source, path, { signers: [exporter], density: 'lite' })
await source.close()

const ms = async (f: () => unknown) => {
  const t = performance.now()
  await f()
  return performance.now() - t
}
for (let round = 0; round < 2; round++) {
  const load = loadavg()[0]!.toFixed(1)
  const verify = await ms(() => {
    for (const b of all) verifyAssertion(decodeAssertion(b, NETWORK), NETWORK)
  })
  const decode = await ms(() => {
    for (const b of all) decodeRecord(b, NETWORK)
  })
  const hash = await ms(async () => {
    const h = await createBLAKE3()
    h.init()
    h.update(readFileSync(path))
    h.digest('hex')
  })
  const target = await open(`t-${round}`)
  let inspected: Awaited<ReturnType<typeof inspectBundle>> | undefined
  const inspect = await ms(async () => {
    inspected = await inspectBundle(path, { trustedKeys: [exporter.publicKey], state: target })
  })
  const apply = await ms(() => importInspected(target, path, inspected!, join(work, `r-${round}.json`)))
  await target.close()
  const per = (t: number) => `${((t / count) * 1000).toFixed(1)} µs`
  console.log(
    `load ${load}: verify ${per(verify)}/record, decode ${per(decode)}, BLAKE3 of the file ${hash.toFixed(0)} ms; ` +
      `inspect (verifying pass) ${per(inspect)}, apply pass ${per(apply)}; ratio ${(verify / (inspect + apply)).toFixed(3)}`,
  )
}
rmSync(work, { recursive: true, force: true })
process.exit(0)
