import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'

// Session 15: a simulation killed mid-run left its /dev/shm/provsync-sim-* directory behind
// (3.9 GB from one run). The command, run as a child process here with its scratch directory
// moved (PROVSYNC_SIM_SCRATCH), is stopped by a signal once its nodes' LMDB files exist.

const scratches: string[] = []
const children: ChildProcess[] = []
afterEach(() => {
  // A child that did not exit (a failed test) does not outlive it.
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  for (const dir of scratches.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** The run's store directory once a node's data file is in it, polled. */
async function storeDirOf(scratch: string): Promise<string> {
  for (let i = 0; i < 600; i++) {
    const run = readdirSync(scratch).find((name) => name.startsWith('provsync-sim-'))
    if (run !== undefined && existsSync(join(scratch, run, 'n0', 'data.mdb'))) return join(scratch, run)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`no run directory appeared in ${scratch}`)
}

const root = fileURLToPath(new URL('../../../', import.meta.url))

/** `provsync sim` (its `main.ts`) with `args`: a small slow run, its report in `scratch`. */
const simCommand =
  (args: readonly string[]) =>
  (scratch: string): string[] => [
    join(root, 'packages/sim/src/main.ts'),
    ...['--quiet', '--nodes', '4', '--ops', '400', '--duration-ms', '60000'],
    ...['--report-dir', join(scratch, 'report'), ...args],
  ]

/** Runs `command` under tsx, sends `signal` once its nodes have stores, resolves its exit. */
async function killMidRun(
  command: (scratch: string) => string[],
  signal: NodeJS.Signals,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; storeDir: string; scratch: string }> {
  const scratch = mkdtempSync(join(tmpdir(), 'provsync-sim-signal-'))
  scratches.push(scratch)
  const tsconfig = join(root, 'tsconfig.source.json')
  const child = spawn(process.execPath, ['--import', 'tsx', ...command(scratch)], {
    cwd: root,
    env: {
      ...process.env,
      PROVSYNC_SIM_SCRATCH: scratch,
      ...(existsSync(tsconfig) ? { TSX_TSCONFIG_PATH: tsconfig } : {}),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  children.push(child)
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000)
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, sig) => resolve({ code, signal: sig })),
  )
  const storeDir = await Promise.race([
    storeDirOf(scratch),
    exited.then(({ code }) => {
      throw new Error(`the run exited (${code}) before it was stopped: ${stderr}`)
    }),
  ])
  child.kill(signal)
  return { ...(await exited), storeDir, scratch }
}

describe('a simulation stopped by a signal', () => {
  it('removes its store directory and ends by SIGTERM (a shell reports 143)', async () => {
    const run = await killMidRun(simCommand([]), 'SIGTERM')
    expect(run).toMatchObject({ code: null, signal: 'SIGTERM' })
    expect(existsSync(run.storeDir)).toBe(false)
    expect(readdirSync(run.scratch).filter((n) => n.startsWith('provsync-sim-'))).toEqual([])
  }, 120_000)

  it('does the same with its nodes in worker threads', async () => {
    const threaded = ['--threads', '2', '--byzantine', '0', '--crashes', '0', '--skewed', '0']
    const run = await killMidRun(simCommand(threaded), 'SIGTERM')
    expect(run).toMatchObject({ code: null, signal: 'SIGTERM' })
    expect(existsSync(run.storeDir)).toBe(false)
  }, 120_000)

  it('the bench runner passes the signal on to its sim suite (nodes in worker threads), which cleans up', async () => {
    // `npx tsx bench/run.ts sim --quick`: the runner runs the suite in a child process of its own.
    const run = await killMidRun(() => [join(root, 'bench/run.ts'), 'sim', '--quick'], 'SIGTERM')
    expect(run).toMatchObject({ code: 143, signal: null })
    expect(existsSync(run.storeDir)).toBe(false)
  }, 120_000)

  it('`provsync sim` (the cli binary, whose own handlers only ask a command to stop) does the same', async () => {
    const cli = (scratch: string) => [
      join(root, 'packages/cli/src/bin.ts'),
      'sim',
      ...simCommand([])(scratch).slice(1),
    ]
    const run = await killMidRun(cli, 'SIGTERM')
    expect(run).toMatchObject({ code: null, signal: 'SIGTERM' })
    expect(existsSync(run.storeDir)).toBe(false)
  }, 120_000)

  it('ends by SIGINT (a shell reports 130), its directory removed', async () => {
    const run = await killMidRun(simCommand(['--byzantine', '0']), 'SIGINT')
    expect(run).toMatchObject({ code: null, signal: 'SIGINT' })
    expect(existsSync(run.storeDir)).toBe(false)
  }, 120_000)
})
