/**
 * Shared helpers for benchmark suites. A suite is a file `packages/<pkg>/bench/<suite>.bench.ts`
 * (or `bench/suites/<suite>.bench.ts`) that calls `runSuite`. It prints every figure as it is
 * measured and writes `bench/results/<suite>.json` when it ends, so figures compare across commits.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export interface Figure {
  value: number
  unit: string
}

export interface SuiteResult {
  suite: string
  node: string
  figures: Record<string, Figure>
}

export interface SuiteContext {
  /** Records a figure under its exact name; a name recorded twice keeps the last value. */
  record(name: string, value: number, unit: string): void
  /** `--quick` shrinks the workload (used by smoke checks); figure names stay the same. */
  readonly quick: boolean
  /** The arguments after the suite name, e.g. `npm run bench -- merkle --quick`. */
  readonly args: readonly string[]
}

const resultsDir = join(dirname(fileURLToPath(import.meta.url)), 'results')

export async function runSuite(
  suite: string,
  body: (ctx: SuiteContext) => Promise<void>,
): Promise<SuiteResult> {
  const figures: Record<string, Figure> = {}
  const args = process.argv.slice(2)
  const ctx: SuiteContext = {
    quick: args.includes('--quick'),
    args,
    record(name, value, unit) {
      figures[name] = { value, unit }
      console.log(`  ${name.padEnd(44)} ${formatValue(value).padStart(14)} ${unit}`)
    },
  }
  console.log(`suite ${suite} (node ${process.version})`)
  await body(ctx)
  const result: SuiteResult = { suite, node: process.version, figures }
  mkdirSync(resultsDir, { recursive: true })
  const file = join(resultsDir, `${suite}.json`)
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`)
  console.log(`  -> ${file}`)
  return result
}

function formatValue(value: number): string {
  if (Number.isInteger(value)) return value.toLocaleString('en-US')
  return value.toLocaleString('en-US', { maximumFractionDigits: 3 })
}

/**
 * Calls `op` repeatedly for at least `minMs` (after a short warm-up) and returns calls per second.
 * `op` may do `batch` units of work per call; the rate counts units.
 */
export function rate(op: () => void, { minMs = 1000, batch = 1, warmupMs = 100 } = {}): number {
  const warmEnd = performance.now() + warmupMs
  while (performance.now() < warmEnd) op()
  let calls = 0
  const start = performance.now()
  let elapsed = 0
  do {
    op()
    calls++
    elapsed = performance.now() - start
  } while (elapsed < minMs)
  return (calls * batch * 1000) / elapsed
}

/** Async variant of {@link rate}. */
export async function rateAsync(
  op: () => Promise<void>,
  { minMs = 1000, batch = 1, warmupMs = 100 } = {},
): Promise<number> {
  const warmEnd = performance.now() + warmupMs
  while (performance.now() < warmEnd) await op()
  let calls = 0
  const start = performance.now()
  let elapsed = 0
  do {
    await op()
    calls++
    elapsed = performance.now() - start
  } while (elapsed < minMs)
  return (calls * batch * 1000) / elapsed
}

/** Wall time of one call in milliseconds. */
export async function timeMs(op: () => unknown): Promise<number> {
  const start = performance.now()
  await op()
  return performance.now() - start
}

/** Peak resident set size of this process so far, in MiB (Linux reports it in kB). */
export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024
}
