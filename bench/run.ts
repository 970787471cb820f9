/**
 * `npm run bench` runs every suite; `npm run bench -- <suite> [suite...] [--quick]` runs the named ones.
 * Each suite runs in its own process so one suite's memory never skews another's peak RSS figure.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

function discoverSuites(): Map<string, string> {
  const suites = new Map<string, string>()
  const dirs = [join(root, 'bench', 'suites')]
  for (const pkg of readdirSync(join(root, 'packages'))) dirs.push(join(root, 'packages', pkg, 'bench'))
  for (const dir of dirs) {
    if (!existsSync(dir)) continue
    for (const file of readdirSync(dir)) {
      if (file.endsWith('.bench.ts')) suites.set(basename(file, '.bench.ts'), join(dir, file))
    }
  }
  return suites
}

const args = process.argv.slice(2)
const flags = args.filter((a) => a.startsWith('--'))
const names = args.filter((a) => !a.startsWith('--'))
const suites = discoverSuites()
const unknown = names.filter((n) => !suites.has(n))
if (unknown.length > 0) {
  console.error(`unknown bench suite: ${unknown.join(', ')} (known: ${[...suites.keys()].sort().join(', ')})`)
  process.exit(2)
}
const selected = names.length > 0 ? names : [...suites.keys()].sort()
// SIGINT/SIGTERM sent to this process go on to the suite running, which stops and cleans up (the
// sim removes its nodes' store directories) before this process exits with the suite's code.
// Session 16: with spawnSync this process died alone and left the suite running, orphaned.
let running: ChildProcess | undefined
let stoppedBy: NodeJS.Signals | undefined
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    stoppedBy = signal
    running?.kill(signal)
  })
}
let failed = 0
for (const name of selected) {
  const file = suites.get(name)!
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', file, ...flags], {
    stdio: 'inherit',
    cwd: root,
  })
  running = child
  const [status, signal] = (await new Promise((resolve) =>
    child.once('exit', (code, sig) => resolve([code, sig])),
  )) as [number | null, NodeJS.Signals | null]
  running = undefined
  if (stoppedBy !== undefined) process.exit(status ?? (stoppedBy === 'SIGINT' ? 130 : 143))
  if (status !== 0) {
    console.error(`bench suite ${name} failed (exit ${status ?? signal})`)
    failed++
  }
}
process.exit(failed === 0 ? 0 : 1)
