/**
 * Runs a node in a child process (optionally inside a network namespace) and talks to it with
 * JSON lines, so a test can SIGKILL it at any moment and restart it on the same data directory.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { ChildCommand, ChildConfig } from './child.js'
import { SimError } from './errors.js'

/** Distributive Omit, so each command keeps its own fields. */
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never

export interface NodeProcess {
  readonly pid: number
  readonly peerId: string | undefined
  readonly addresses: readonly string[]
  /** Hex public key of the node. */
  readonly key: string
  call(command: WithoutId<ChildCommand>): Promise<Record<string, unknown>>
  /** Resolves when the child reports it started applying the batch of call `id` (crash tests). */
  applying(): Promise<void>
  kill(signal: NodeJS.Signals): void
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

export class NodeProcessError extends SimError {
  override name = 'NodeProcessError'
}

/** How to start the child: from source through tsx (tests, `npm run sim`), or built JS. */
function childCommand(): { args: string[]; env: Record<string, string> } {
  const here = fileURLToPath(import.meta.url)
  if (here.endsWith('.ts')) {
    const tsconfig = fileURLToPath(new URL('../../../tsconfig.source.json', import.meta.url))
    return {
      args: ['--import', 'tsx', fileURLToPath(new URL('./child.ts', import.meta.url))],
      env: existsSync(tsconfig) ? { TSX_TSCONFIG_PATH: tsconfig } : {},
    }
  }
  return { args: [fileURLToPath(new URL('./child.js', import.meta.url))], env: {} }
}

export async function spawnNodeProcess(
  config: ChildConfig,
  options: { netns?: string; startTimeoutMs?: number } = {},
): Promise<NodeProcess> {
  const { args, env } = childCommand()
  const [command, argv] =
    options.netns === undefined
      ? [process.execPath, args]
      : ['ip', ['netns', 'exec', options.netns, process.execPath, ...args]]
  const child: ChildProcess = spawn(command, argv, {
    env: { ...process.env, ...env, PROVSYNC_SIM_CHILD: JSON.stringify(config) },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000)
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  )
  const pending = new Map<number, (result: Record<string, unknown>) => void>()
  const applyingWaiters: Array<() => void> = []
  let ready: ((info: Record<string, unknown>) => void) | undefined
  const readyInfo = new Promise<Record<string, unknown>>((resolve) => (ready = resolve))
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let message: Record<string, unknown>
    try {
      message = JSON.parse(line) as Record<string, unknown>
    } catch {
      return // a stray log line from a dependency
    }
    if (message.type === 'ready') ready?.(message)
    else if (message.type === 'applying') for (const waiter of applyingWaiters.splice(0)) waiter()
    else if (message.type === 'result') pending.get(message.id as number)?.(message)
  })
  const failure = exited.then(({ code, signal }) => {
    throw new NodeProcessError(
      `node process ${config.name} exited (${signal ?? code}) ${stderr.trim().split('\n').slice(-5).join(' | ')}`,
    )
  })
  failure.catch(() => {})
  const timeout = new Promise<never>((_, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new NodeProcessError(
            `node process ${config.name} did not start within ${options.startTimeoutMs ?? 30_000} ms: ${stderr}`,
          ),
        ),
      options.startTimeoutMs ?? 30_000,
    )
    timer.unref()
  })
  const info = await Promise.race([readyInfo, failure, timeout]).catch((error) => {
    child.kill('SIGKILL')
    throw error
  })
  let nextId = 1
  return {
    pid: child.pid!,
    peerId: info.peerId as string | undefined,
    addresses: (info.addresses as string[]) ?? [],
    key: info.key as string,
    call(command) {
      const id = nextId++
      const result = new Promise<Record<string, unknown>>((resolve) => pending.set(id, resolve))
      child.stdin!.write(`${JSON.stringify({ ...command, id })}\n`)
      return Promise.race([result, failure]).then((r) => {
        if (typeof r.error === 'string') throw new NodeProcessError(`${config.name}: ${r.error}`)
        return r
      })
    },
    applying: () => new Promise<void>((resolve) => applyingWaiters.push(resolve)),
    kill: (signal) => child.kill(signal),
    exited,
  }
}

/** A TCP port free on 127.0.0.1 at the time of asking (the OS picks it; the listener is closed again). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}
