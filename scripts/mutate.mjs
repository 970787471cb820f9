// npm run mutate [-- [--incremental] <package>... | <package> <file>...] [--tests <test file glob>...]
// With --incremental, Stryker's incremental mode reads the package's last report
// (reports/mutation/<package>.json, committed for merkle) and runs only the mutants whose code or
// covering tests changed since; the others keep their recorded status. The dry run still runs.
// With --tests only those test files run (a quick look while writing tests; the score can only
// be lower than with the package's whole suite). The report of a run over some files or tests is
// reports/mutation/<package>.partial.json, so it never replaces the package's full report.
// MUTATE_INCREMENTAL_FILE=<path> makes --incremental start from that report instead (one merged from
// partial runs with scripts/mutate-merge.mjs); Stryker is given a copy, so the file stays as it is.
// MUTATE_PLAN_ONLY=1 stops after the dry run, once the mutant plan is printed (scripts/mutate-plan.mjs).
// MUTATE_CONCURRENCY=1 runs one test worker instead of two. MUTATE_DRY_RUN_MINUTES (default 15) bounds the initial test run. MUTATE_REPORT=<path> writes a partial
// run's report there instead (two partial runs of one package side by side). MUTATE_IGNORE_STATIC=1
// (partial runs only) leaves static mutants out, shown in the "ignored" column: each of them reruns
// every selected test, which on a loaded machine can cost more than all the other mutants together.
// A package listed in PURE_CORE_TESTS (stryker.config.mjs) runs those test files instead of its
// whole suite (sync: the unit tests of its pure modules); that run still writes the full report.
// Vitest runs with scripts/vitest.mutate.config.ts: a test selection (--tests or PURE_CORE_TESTS)
// limits its `include` (not Stryker's `testFiles`, which leaves static mutants inactive), and a
// test file that fails to load counts as a failed test (a mutant that breaks an import is killed).
// Runs StrykerJS over the pure cores of each package (stryker.config.mjs), with that package's own
// tests, writes Stryker's JSON report to reports/mutation/<package>.json and prints the score per
// file: killed and timed out over the mutants some test covers, marked equivalents left out.
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Stryker } from '@stryker-mutator/core'
import config, { PURE_CORE_TEST_ORDER, PURE_CORE_TESTS, PURE_CORES } from '../stryker.config.mjs'

const incremental = process.argv.includes('--incremental')
const argv = process.argv.slice(2).filter((a) => a !== '--incremental')
const testsAt = argv.indexOf('--tests')
const args = testsAt < 0 ? argv : argv.slice(0, testsAt)
const tests = testsAt < 0 ? [] : argv.slice(testsAt + 1)
const packages = Object.keys(PURE_CORES)
const asked = args.filter((a) => packages.includes(a))
const files = args.filter((a) => !packages.includes(a))
const unknown = files.filter((f) => !f.startsWith('packages/'))
if (unknown.length > 0 || (files.length > 0 && asked.length !== 1)) {
  console.error(
    `usage: npm run mutate [-- <package>... | <package> <packages/...file>...]; packages: ${packages.join(', ')}`,
  )
  process.exit(2)
}

/** Score per file from Stryker's results. */
function scores(results) {
  const byFile = new Map()
  for (const r of results) {
    const s = byFile.get(r.fileName) ?? {
      killed: 0,
      timeout: 0,
      survived: 0,
      noCoverage: 0,
      ignored: 0,
      errors: 0,
    }
    if (r.status === 'Killed') s.killed++
    else if (r.status === 'Timeout') s.timeout++
    else if (r.status === 'Survived') s.survived++
    else if (r.status === 'NoCoverage') s.noCoverage++
    else if (r.status === 'Ignored') s.ignored++
    else s.errors++
    byFile.set(r.fileName, s)
  }
  return [...byFile.entries()].sort(([a], [b]) => a.localeCompare(b))
}

function printScores(pkg, results) {
  console.log(`\nmutation score, ${pkg} (killed + timeout over covered; marked equivalents left out)`)
  console.log('file'.padEnd(44), 'score'.padStart(7), 'killed', 'timeout', 'survived', 'no-cov', 'ignored')
  let ok = true
  for (const [file, s] of scores(results)) {
    const covered = s.killed + s.timeout + s.survived
    const score = covered === 0 ? 100 : (100 * (s.killed + s.timeout)) / covered
    if (score < targetOf(file)) ok = false
    const name = file.replace(/^.*?packages\//, 'packages/')
    console.log(
      name.padEnd(44),
      `${score.toFixed(1)}%`.padStart(7),
      String(s.killed).padStart(6),
      String(s.timeout).padStart(7),
      String(s.survived).padStart(8),
      String(s.noCoverage).padStart(6),
      String(s.ignored).padStart(7),
    )
  }
  return ok
}

/**
 * A copy of `path` in a fresh temporary directory. Stryker's incremental mode writes its report back
 * over `incrementalFile` at the end of the run (pretty-printed), which would overwrite a committed
 * starting report such as merkle.assembled.json; a missing file fails here, not as a full run.
 */
function incrementalCopy(path) {
  const copy = join(mkdtempSync(join(tmpdir(), 'provsync-mutate-')), 'incremental.json')
  copyFileSync(path, copy)
  return copy
}

/** The target of issue #18: 95 % for the provenance semantics, 90 % for every other pure core. */
const targetOf = (file) => (/crdt\/src\/(view|gate|criteria)\.ts$/.test(file) ? 95 : 90)

mkdirSync('reports/mutation', { recursive: true })
let failed = false
for (const pkg of asked.length > 0 ? asked : packages) {
  const partial = files.length > 0 || tests.length > 0
  const selection = tests.length > 0 ? tests : (PURE_CORE_TESTS[pkg] ?? [])
  // vitest reads `include` relative to its `dir` (the package); the test workers inherit the env.
  if (selection.length > 0)
    process.env.MUTATE_TEST_INCLUDE = selection.map((glob) => glob.replace(`packages/${pkg}/`, '')).join('\n')
  else delete process.env.MUTATE_TEST_INCLUDE
  // The test files' order, cheapest first (scripts/vitest.mutate.config.ts's sequencer).
  if (PURE_CORE_TEST_ORDER[pkg]) process.env.MUTATE_TEST_ORDER = PURE_CORE_TEST_ORDER[pkg].join('\n')
  else delete process.env.MUTATE_TEST_ORDER
  // MUTATE_REPORT names the report of a partial run, so partial runs can go side by side.
  const report =
    partial && process.env.MUTATE_REPORT
      ? process.env.MUTATE_REPORT
      : `reports/mutation/${pkg}${partial ? '.partial' : ''}.json`
  const stryker = new Stryker({
    ...config,
    mutate: files.length > 0 ? files : PURE_CORES[pkg],
    vitest: {
      ...config.vitest,
      dir: `packages/${pkg}`,
      configFile: 'scripts/vitest.mutate.config.ts',
    },
    ...(process.env.MUTATE_CONCURRENCY ? { concurrency: Number(process.env.MUTATE_CONCURRENCY) } : {}),
    // Stryker's default of 5 min for the initial run is too short on the shared machine: merkle's
    // dry run (176 tests, 2.5 min alone at load 15) timed out at 16:57 beside another run.
    dryRunTimeoutMinutes: Number(process.env.MUTATE_DRY_RUN_MINUTES ?? 15),
    jsonReporter: { fileName: report },
    // The plan reporter (scripts/mutate-plan.mjs): mutants, static ones, covering test time per file.
    appendPlugins: ['./scripts/mutate-plan.mjs'],
    reporters: [...config.reporters, 'plan'],
    // MUTATE_INCREMENTAL_FILE: start from another report (e.g. one merged from partial runs by
    // scripts/mutate-merge.mjs), through a copy; the run still writes the package's report.
    ...(incremental
      ? {
          incremental: true,
          incrementalFile: process.env.MUTATE_INCREMENTAL_FILE
            ? incrementalCopy(process.env.MUTATE_INCREMENTAL_FILE)
            : report,
        }
      : {}),
    // A quick look only (a partial run): static mutants are reported as ignored, not run.
    ...(partial && process.env.MUTATE_IGNORE_STATIC === '1' ? { ignoreStatic: true } : {}),
  })
  const results = await stryker.runMutationTest()
  if (!printScores(pkg, results)) failed = true
}
process.exitCode = failed ? 1 : 0
