// node scripts/mutate-by-hand.mjs <file> <line,line,...> <test file>...
// Applies each mutant Stryker makes on the given lines of one source file, one at a time, runs the
// given test files with vitest, and prints whether they fail ("killed") or pass ("SURVIVED"); the
// source is restored after each mutant and at the end (also on an error). For the issue #18 rule
// that a test written for a survivor is seen to fail with the mutant applied. Marked mutants are
// skipped. Runs vitest once per mutant (about 3 s each), so give it a few lines, not a file.

import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'

/** The mutants Stryker's instrumenter makes of `content` (locations 0-based lines). */
export async function instrumenterMutants(name, content) {
  const entry = `${process.cwd()}/node_modules/@stryker-mutator/instrumenter/dist/src/index.js`
  const { Instrumenter } = await import(pathToFileURL(entry).href)
  const log = { debug() {}, info() {}, warn: console.error, isDebugEnabled: () => false }
  const options = { plugins: null, excludedMutations: [], ignorers: [], noHeader: false }
  const { mutants } = await new Instrumenter(log).instrument([{ name, content, mutate: true }], options)
  return mutants
}

async function main() {
  const [file, lineList, ...tests] = process.argv.slice(2)
  if (file === undefined || lineList === undefined || tests.length === 0) {
    console.error('usage: node scripts/mutate-by-hand.mjs <file> <line,line,...> <test file>...')
    process.exit(2)
  }
  const lines = lineList.split(',').map(Number)
  const source = readFileSync(file, 'utf8')
  const starts = [0]
  for (let i = 0; i < source.length; i++) if (source[i] === '\n') starts.push(i + 1)
  const offset = (p) => starts[p.line] + p.column
  try {
    for (const m of await instrumenterMutants(file, source)) {
      const line = m.location.start.line + 1
      if (!lines.includes(line) || m.status === 'Ignored') continue
      const { start, end } = m.location
      writeFileSync(file, source.slice(0, offset(start)) + m.replacement + source.slice(offset(end)))
      const run = spawnSync('npx', ['vitest', 'run', ...tests], { encoding: 'utf8' })
      const verdict = run.status === 0 ? 'SURVIVED' : 'killed  '
      console.log(verdict, line, start.column, m.mutatorName, JSON.stringify(m.replacement).slice(0, 70))
    }
  } finally {
    writeFileSync(file, source)
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main()
