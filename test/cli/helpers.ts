import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as testing from '@provsync/testing'

export const BIN = fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url))

export function assertBuilt(): void {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run npx tsc -b first (npm test does)`)
}

function withoutDataDirVariable(): NodeJS.ProcessEnv {
  const { PROVSYNC_DATA_DIR: _ignored, ...env } = process.env
  return env
}

export interface Result {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs the built `provsync` binary to completion. */
export function provsync(
  args: readonly string[],
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
      env: withoutDataDirVariable(),
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

/** `provsync ... --json`, asserting exit status `code`, parsed. */
// biome-ignore lint/suspicious/noExplicitAny: tests read the parsed --json output field by field
export async function json<T = any>(args: readonly string[], code = 0): Promise<T> {
  const result = await provsync([...args, '--json'])
  if (result.code !== code) {
    throw new Error(`provsync ${args.join(' ')} exited ${result.code}, expected ${code}: ${result.stderr}`)
  }
  return JSON.parse(result.stdout) as T
}

/**
 * `provsync` and `provsync ... --json` run in the directory `cwd()` names (read at each call, so a
 * suite may create it in `beforeAll`), with a 60 s deadline: the shape of the multi-node suites.
 * `json` asserts exit status `code` and parses stdout.
 */
export function cliIn(cwd: () => string): {
  run(args: readonly string[]): Promise<Result>
  // biome-ignore lint/suspicious/noExplicitAny: tests read the parsed --json output field by field
  json(args: readonly string[], code?: number): Promise<any>
} {
  const run = (args: readonly string[]) => provsync(args, { cwd: cwd(), timeoutMs: 60_000 })
  const json = async (args: readonly string[], code = 0) => {
    const r = await run([...args, '--json'])
    if (r.code !== code) throw new Error(`provsync ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
    return JSON.parse(r.stdout)
  }
  return { run, json }
}

export interface RunningNode {
  readonly child: ChildProcessWithoutNullStreams
  readonly ready: {
    peerId: string
    publicKey: string
    networkId: string
    addresses: string[]
    dataDir: string
    control: string
    trustedOperators: number
  }
  stderr(): string
  /** SIGTERM, and the exit status once it stopped. */
  stop(): Promise<number | null>
}

/** Starts `provsync node --json ...` and resolves with its ready line. */
export function startNode(args: readonly string[], options: { cwd?: string } = {}): Promise<RunningNode> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'node', '--json', ...args], {
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
      env: withoutDataDirVariable(),
    })
    let stdout = ''
    let stderr = ''
    let exited: Promise<number | null> | undefined
    const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
    child.stderr.on('data', (d) => (stderr += d))
    const onData = (d: Buffer): void => {
      stdout += d
      const newline = stdout.indexOf('\n')
      if (newline === -1) return
      child.stdout.off('data', onData)
      resolve({
        child,
        ready: JSON.parse(stdout.slice(0, newline)),
        stderr: () => stderr,
        stop() {
          exited ??= (async () => {
            if (child.exitCode === null) child.kill('SIGTERM')
            return exit
          })()
          return exited
        },
      })
    }
    child.stdout.on('data', onData)
    exit.then((code) => reject(new Error(`provsync node exited ${code} before it was ready: ${stderr}`)))
  })
}

/** Probes until `ok` accepts the value (every 100 ms, for at most 15 s); see @provsync/testing. */
export function eventually<T>(what: string, probe: () => Promise<T>, ok: (value: T) => boolean): Promise<T> {
  return testing.eventually(what, probe, ok, { timeoutMs: 15_000, intervalMs: 100 })
}

/** The `--data-dir` flags that point a command at a running node. */
export const at = (node: RunningNode): string[] => ['--data-dir', node.ready.dataDir]

/** Fast announcements and anti-entropy on loopback, so a test's nodes converge in well under a second. */
export const FAST_LOOPBACK = [
  '--listen',
  '/ip4/127.0.0.1/tcp/0',
  '--announce-ms',
  '20',
  '--anti-entropy-ms',
  '300',
]

/**
 * Starts daemons in a line under `dir`, one per name, each bootstrapping from the one before
 * (A, then B from A, then C from B), all with `flags` and {@link FAST_LOOPBACK}.
 */
export async function startLine(
  dir: string,
  names: readonly string[],
  flags: readonly string[],
): Promise<RunningNode[]> {
  const nodes: RunningNode[] = []
  for (const name of names) {
    const previous = nodes.at(-1)
    const bootstrap = previous === undefined ? [] : ['--bootstrap', previous.ready.addresses[0]!]
    nodes.push(await startNode(['--data-dir', join(dir, name), ...flags, ...FAST_LOOPBACK, ...bootstrap]))
  }
  return nodes
}

/** Stops every node that started and removes `dir`, each step taken even when another failed. */
export async function stopAll(
  nodes: readonly (RunningNode | undefined)[],
  dir: string | undefined,
): Promise<void> {
  await Promise.allSettled(nodes.map((node) => node?.stop()))
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
}
