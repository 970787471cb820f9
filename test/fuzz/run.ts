/**
 * The long fuzz run: `npm run fuzz [-- --seconds N] [--runs N] [--seed S] [--target NAME]`.
 * Splits the time over every target (default 60 s in all), prints what ran, keeps each finding in
 * `corpus/<target>/` (so `npm test` replays it from then on) and exits 1 if there was one.
 */
import { fuzzTarget, openFuzzEnv, saveFinding, type TargetStats } from './harness.js'

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`)
  if (i < 0) return fallback
  const value = Number(process.argv[i + 1])
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} needs a number`)
  return value
}

const seconds = option('seconds', 60)
const runs = option('runs', Number.MAX_SAFE_INTEGER)
const seed = option('seed', Date.now() % 2 ** 31)
const only = process.argv.includes('--target')
  ? process.argv[process.argv.indexOf('--target') + 1]
  : undefined

const env = openFuzzEnv()
const targets = env.targets.filter((t) => only === undefined || t.name === only)
if (targets.length === 0) throw new Error(`no target ${only}`)
console.log(`fuzzing ${targets.length} targets for ${seconds} s, seed ${seed}`)

const started = Date.now()
const results: TargetStats[] = []
for (const [i, target] of targets.entries()) {
  const share = (seconds * 1000 - (Date.now() - started)) / (targets.length - i)
  const stats = fuzzTarget(target, { seed: seed + i, runs, deadline: Date.now() + share })
  results.push(stats)
  const line = `${stats.target.padEnd(34)} ${String(stats.inputs).padStart(9)} inputs  ${stats.accepted} accepted  ${stats.refused} refused  slowest ${stats.slowestMs.toFixed(1)} ms`
  console.log(stats.findings.length === 0 ? line : `${line}  ${stats.findings.length} FINDINGS`)
  for (const finding of stats.findings) {
    const error = finding.error as Error
    console.log(`  ${error?.message ?? String(error)}\n  kept in ${saveFinding(target.name, finding.input)}`)
  }
}
await env.close()
const total = results.reduce((n, r) => n + r.inputs, 0)
const findings = results.reduce((n, r) => n + r.findings.length, 0)
console.log(`${total} inputs in ${((Date.now() - started) / 1000).toFixed(1)} s, ${findings} findings`)
process.exitCode = findings === 0 ? 0 : 1
