// node scripts/mutate-merge.mjs <out.json> <report.json>...
// Merges Stryker JSON reports of one package (partial runs over some of its files, each with the
// package's whole test selection) into one report, so `npm run mutate -- --incremental <package>`
// can take it as its incremental file and run only the mutants none of them measured. A file
// measured by several reports is taken from the last one given. Mutant and test ids are numbers
// local to each run, so tests are matched by file and name and both are renumbered.
import { readFileSync, writeFileSync } from 'node:fs'

const [out, ...inputs] = process.argv.slice(2)
if (out === undefined || inputs.length === 0) {
  console.error('usage: node scripts/mutate-merge.mjs <out.json> <report.json>...')
  process.exit(2)
}

const reports = inputs.map((path) => JSON.parse(readFileSync(path, 'utf8')))
const merged = { ...reports.at(-1), files: {}, testFiles: {} }
/** Test file → name → new id. */
const testIds = new Map()
let nextTest = 0
let nextMutant = 0

for (const report of reports) {
  // This report's test ids, as (file, name).
  const local = new Map()
  for (const [file, testFile] of Object.entries(report.testFiles ?? {})) {
    const names = testIds.get(file) ?? new Map()
    testIds.set(file, names)
    const into = merged.testFiles[file] ?? { tests: [] }
    if (testFile.source !== undefined) into.source = testFile.source
    for (const test of testFile.tests) {
      let id = names.get(test.name)
      if (id === undefined) {
        id = String(nextTest++)
        names.set(test.name, id)
        into.tests.push({ ...test, id })
      }
      local.set(test.id, id)
    }
    merged.testFiles[file] = into
  }
  const remap = (ids) => ids?.map((id) => local.get(id)).filter((id) => id !== undefined)
  for (const [file, result] of Object.entries(report.files)) {
    merged.files[file] = {
      ...result,
      mutants: result.mutants.map((m) => ({
        ...m,
        id: String(nextMutant++),
        ...(m.coveredBy ? { coveredBy: remap(m.coveredBy) } : {}),
        ...(m.killedBy ? { killedBy: remap(m.killedBy) } : {}),
      })),
    }
  }
}

writeFileSync(out, `${JSON.stringify(merged)}\n`)
const count = Object.values(merged.files).reduce((n, f) => n + f.mutants.length, 0)
console.log(`${out}: ${Object.keys(merged.files).length} files, ${count} mutants, ${nextTest} tests`)
