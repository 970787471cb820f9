/**
 * The command-line runner behind `npm run sim` and `provsync sim`: parses flags into scenarios,
 * runs them one seed after another with a progress line, and exits non-zero when an invariant
 * fails (printing the seed to replay).
 */
import { parseArgs } from 'node:util'
import { BYZANTINE_BEHAVIOURS } from './byzantine.js'
import { formatCheck } from './checker.js'
import { ScenarioConfigError } from './errors.js'
import { type Progress, runScenario, type ScenarioOptions, validateScenario } from './scenario.js'

export const USAGE = `usage: provsync sim [options]

  --seed <s>            seed of the run (default: random); the same seed replays the schedule
  --runs <n>            run n seeds: <seed>-1 .. <seed>-n (default 1)
  --nodes <n>           honest nodes (default 8)
  --byzantine <n>       Byzantine peers (default 1)
  --ops <n>             workload operations (default 400)
  --duration-ms <ms>    time the workload and faults spread over (default 6000)
  --transport <t>       memory | tcp (default memory)
  --partitions <n>      random partitions, healed before the end (default 1)
  --crashes <n>         random crash/restart pairs (default 1)
  --lossy-links <n>     links with random loss and delay (default 2 on memory, 0 on tcp:
                        loss and delay need the memory transport)
  --skewed <n>          nodes with a skewed clock (default 1)
  --no-revoke           do not revoke the Byzantine peers during the run
  --report-dir <dir>    write <name>.json and <name>.svg there (default sim-report)
  --threads <n>         run the nodes in n worker threads (default 1: in this thread; n > 1
                        needs --byzantine 0 --crashes 0 --skewed 0 and the memory transport)
  --keep-data           keep the nodes' LMDB directories
  --quiet               no progress line
  -h, --help            this text

The nodes' LMDB directories go under $PROVSYNC_SIM_SCRATCH (default /dev/shm, else the OS temp
directory) and are removed when a run ends, or when SIGINT or SIGTERM stops the command: it then
ends by that signal (a shell reports 130 or 143). Exit code 1: an invariant failed; 2: a bad
command line.
`

export interface CliIo {
  readonly out: (line: string) => void
  readonly progress?: (text: string) => void
  /** Where a bad command line is reported, as one line; without it the line and the usage go to `out`. */
  readonly error?: (line: string) => void
}

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0)
    throw new ScenarioConfigError(name, `expected a non-negative integer, got ${JSON.stringify(value)}`)
  return n
}

/** Turns command-line flags into the scenarios to run. */
export function scenariosFromArgs(argv: readonly string[]): {
  scenarios: ScenarioOptions[]
  quiet: boolean
  help: boolean
} {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      seed: { type: 'string' },
      runs: { type: 'string' },
      nodes: { type: 'string' },
      byzantine: { type: 'string' },
      ops: { type: 'string' },
      'duration-ms': { type: 'string' },
      transport: { type: 'string' },
      partitions: { type: 'string' },
      crashes: { type: 'string' },
      'lossy-links': { type: 'string' },
      skewed: { type: 'string' },
      'no-revoke': { type: 'boolean' },
      'report-dir': { type: 'string' },
      'keep-data': { type: 'boolean' },
      threads: { type: 'string' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  })
  const help = values.help === true
  const quiet = values.quiet === true
  const seed = values.seed ?? Math.random().toString(36).slice(2, 10)
  const runs = Math.max(1, positiveInt('--runs', values.runs, 1))
  const durationMs = positiveInt('--duration-ms', values['duration-ms'], 6_000)
  const byzantine = positiveInt('--byzantine', values.byzantine, 1)
  const transport = values.transport ?? 'memory'
  if (transport !== 'memory' && transport !== 'tcp') {
    throw new ScenarioConfigError('--transport', `expected memory or tcp, got ${JSON.stringify(transport)}`)
  }
  const scenarios = Array.from({ length: runs }, (_, i): ScenarioOptions => {
    const runSeed = runs === 1 ? seed : `${seed}-${i + 1}`
    return {
      name: `sim-${runSeed}`,
      seed: runSeed,
      nodes: positiveInt('--nodes', values.nodes, 8),
      transport,
      workload: { operations: positiveInt('--ops', values.ops, 400), durationMs },
      faults: {
        random: {
          partitions: positiveInt('--partitions', values.partitions, 1),
          crashes: positiveInt('--crashes', values.crashes, 1),
          lossyLinks: positiveInt('--lossy-links', values['lossy-links'], transport === 'tcp' ? 0 : 2),
          skewedNodes: positiveInt('--skewed', values.skewed, 1),
        },
      },
      ...(byzantine === 0
        ? {}
        : {
            byzantine: {
              count: byzantine,
              behaviours: BYZANTINE_BEHAVIOURS,
              ...(values['no-revoke'] === true ? {} : { revokeAtMs: Math.floor(durationMs * 0.9) }),
            },
          }),
      reportDir: values['report-dir'] ?? 'sim-report',
      ...(values.threads === undefined ? {} : { threads: positiveInt('--threads', values.threads, 1) }),
      ...(values['keep-data'] === true ? { keepData: true } : {}),
    }
  })
  return { scenarios, quiet, help }
}

function formatProgress(p: Progress): string {
  const mib = (p.bytesIn / 1024 / 1024).toFixed(1)
  return `[${(p.tMs / 1000).toFixed(1)} s] ${p.phase.padEnd(10)} ops ${p.opsDone}/${p.opsTotal}  root sets ${p.distinctRoots}  received ${mib} MiB${p.event === undefined ? '' : `  ${p.event}`}`
}

/** Runs the scenarios the flags describe; resolves to the process exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof scenariosFromArgs>
  try {
    parsed = scenariosFromArgs(argv)
    // A flag runScenario would reject (--nodes 1, say) is a bad command line too, not a crash.
    if (!parsed.help) for (const scenario of parsed.scenarios) validateScenario(scenario)
  } catch (error) {
    const message = (error as Error).message
    if (io.error === undefined) io.out(`${message}\n\n${USAGE}`)
    else io.error(`${message} (see --help)`)
    return 2
  }
  if (parsed.help) {
    io.out(USAGE)
    return 0
  }
  let failed = 0
  for (const scenario of parsed.scenarios) {
    io.out(
      `running ${scenario.name}: ${scenario.nodes} honest nodes, ${scenario.byzantine?.count ?? 0} Byzantine, ${scenario.workload.operations} ops over ${scenario.workload.durationMs} ms (${scenario.transport})`,
    )
    const progress = parsed.quiet ? undefined : io.progress
    const result = await runScenario({
      ...scenario,
      ...(progress === undefined ? {} : { onProgress: (p: Progress) => progress(formatProgress(p)) }),
    })
    const r = result.report
    io.out(
      `  converged ${r.convergeMsAfterHeal < 0 ? 'never' : `${r.convergeMsAfterHeal.toFixed(0)} ms after the last heal`}, ` +
        `${r.workload.acknowledged} records acknowledged, ${r.rounds} rounds, ` +
        `${(r.bytes.totalIn / 1024).toFixed(0)} KiB received (${r.bytes.perRecordPerNode.toFixed(0)} B per record per node)`,
    )
    io.out(`  bytes by protocol: ${formatProtocolBytes(r.bytes.byProtocol, r.bytes.totalIn)}`)
    io.out(`  ${formatCheck(result.check).split('\n').join('\n  ')}`)
    for (const file of result.files) io.out(`  wrote ${file}`)
    if (!result.check.ok) failed++
  }
  return failed === 0 ? 0 : 1
}

/** `reconcile 44 %, fetch 25 %, …, framing and encryption 15 %`: shares of all bytes received. */
export function formatProtocolBytes(byProtocol: Readonly<Record<string, number>>, totalIn: number): string {
  const named = Object.entries(byProtocol).sort((a, b) => b[1] - a[1])
  const streams = named.reduce((sum, [, n]) => sum + n, 0)
  // On TCP the harness sees no transport bytes; the streams are then the whole.
  const whole = Math.max(totalIn, streams)
  if (whole <= 0) return 'none'
  const share = (n: number) => `${((100 * n) / whole).toFixed(0)} %`
  const parts = named.map(([protocol, n]) => `${protocol} ${share(n)}`)
  if (totalIn > streams) parts.push(`framing and encryption ${share(totalIn - streams)}`)
  return parts.join(', ')
}
