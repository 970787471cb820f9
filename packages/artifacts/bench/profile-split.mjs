/**
 * Splits a CPU profile of the apply path into what the main thread spends it on:
 * `node --cpu-prof --cpu-prof-dir=prof --import tsx packages/artifacts/bench/apply-profile.ts 20`
 * then `node packages/artifacts/bench/profile-split.mjs prof/<main thread>.cpuprofile 20000`
 * (the second argument: artifacts applied, for µs per artifact). Each sample under `applyBatch`
 * is put in the first category its stack matches, innermost frames first.
 */
import { readFileSync } from 'node:fs'

const profile = JSON.parse(readFileSync(process.argv[2], 'utf8'))
const applied = Number(process.argv[3] ?? 20_000)
const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
const parent = new Map()
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)

const PUT_BY_CALLER = {
  appendChange: 'LMDB put: history entry',
  setWinner: 'LMDB put: view (current version)',
  addVersion: 'LMDB puts: record, version index, publisher index',
}
const BY_FRAME = [
  [['encodeChange', 'appendChange'], 'history entry encoding'],
  [['storedWinner'], 'view read (cache, LMDB get)'],
  [['setWinner'], 'view cache update'],
  [['addVersion'], 'addVersion itself (keys, leaf list)'],
  [['decodeRecord', 'decodeFrom', 'decodePrivate', 'privateCopy'], 'strict decoding (BLAKE3 excluded)'],
  [['checkArtifact', 'checkAll'], 'authority, grant, epoch checks'],
  [['start', 'push', 'flush'], 'verification pool: packing and posting chunks'],
  [['verifyItem'], 'verification items'],
  [['count'], 'counters'],
]

function classify(names) {
  const at = (f) => names.indexOf(f)
  if (at('exports.crypto_sign_verify_detached') >= 0) return 'Ed25519 verification on the main thread'
  if (at('flushLeaves') >= 0) return 'Merkle leaf updates'
  if (at('finishTxn') >= 0) return 'LMDB commit (fsync included)'
  const put = at('putSync')
  if (put >= 0) return PUT_BY_CALLER[names[put + 1]] ?? 'LMDB put: other'
  if (at('blake3') >= 0 || names.some((n) => n.startsWith('wasm-function'))) {
    return at('checkArtifact') >= 0 ? 'BLAKE3 of inline content (check)' : 'BLAKE3 of the record (decode)'
  }
  if (at('result') >= 0) return 'waiting for a verification result'
  let best
  for (const [frames, label] of BY_FRAME) {
    for (const f of frames) {
      const i = at(f)
      if (i >= 0 && (best === undefined || i < best.i)) best = { i, label }
    }
  }
  if (best !== undefined) return best.label
  if (at('decodeAll') >= 0)
    return at('getBinaryFast') >= 0 ? 'duplicate check (LMDB get)' : 'decodeAll itself'
  return 'other'
}

const totals = new Map()
let all = 0
profile.samples.forEach((id, i) => {
  const names = []
  for (let cur = id; cur !== undefined; cur = parent.get(cur))
    names.push(nodes.get(cur).callFrame.functionName)
  if (!names.includes('applyBatch')) return
  const t = profile.timeDeltas[i] ?? 0
  all += t
  const label = classify(names)
  totals.set(label, (totals.get(label) ?? 0) + t)
})
console.log(`applyBatch: ${(all / 1000).toFixed(0)} ms, ${(all / applied).toFixed(1)} µs per artifact`)
for (const [label, t] of [...totals].sort((a, b) => b[1] - a[1])) {
  console.log(
    `${((100 * t) / all).toFixed(1).padStart(5)} %  ${(t / applied).toFixed(1).padStart(6)} µs  ${label}`,
  )
}
