// node scripts/mutate-list.mjs <file> [line...]
// Lists the mutants Stryker's instrumenter makes of one source file (1-based line, column, mutator,
// "Ignored" and the reason when a `// Stryker disable` comment covers it, replacement), without a
// test run: a quick check that a mark takes effect. Stryker reads only the leading comments of a
// node, and a `next-line` rule applies to the line where that node starts (see the README).
import { readFileSync } from 'node:fs'
import { instrumenterMutants } from './mutate-by-hand.mjs'

const [file, ...lines] = process.argv.slice(2)
if (file === undefined) {
  console.error('usage: node scripts/mutate-list.mjs <file> [line...]')
  process.exit(2)
}
const wanted = lines.map(Number)
for (const m of await instrumenterMutants(file, readFileSync(file, 'utf8'))) {
  const line = m.location.start.line + 1
  if (wanted.length > 0 && !wanted.includes(line)) continue
  const status = m.status === 'Ignored' ? `Ignored (${m.statusReason})` : ''
  console.log(
    line,
    m.location.start.column,
    m.mutatorName,
    status,
    JSON.stringify(m.replacement).slice(0, 80),
  )
}
