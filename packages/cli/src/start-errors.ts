import { CliError } from './errors.js'

/** What a node needs to explain why it could not start. */
export interface StartContext {
  readonly listen: readonly string[]
  readonly metricsPort?: number
  readonly metricsHost?: string
}

interface SystemError {
  readonly code?: string
  readonly port?: number
  readonly address?: string
  readonly message?: string
  readonly cause?: unknown
  readonly errors?: unknown[]
}

/** The first operating-system error (EADDRINUSE, EACCES, ...) in an error's causes. */
function systemError(err: unknown, depth = 0): SystemError | undefined {
  if (typeof err !== 'object' || err === null || depth > 8) return undefined
  const e = err as SystemError
  if (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) return e
  for (const inner of [e.cause, ...(Array.isArray(e.errors) ? e.errors : [])]) {
    const found = systemError(inner, depth + 1)
    if (found !== undefined) return found
  }
  const port = /(EADDRINUSE|EACCES|EADDRNOTAVAIL)[^\n]*?:(\d+)\s*$/m.exec(e.message ?? '')
  return port === null ? undefined : { code: port[1]!, port: Number(port[2]) }
}

const WHY: Record<string, string> = {
  EADDRINUSE: 'the address is in use',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'no such address on this host',
}

/**
 * Turns a start failure into one line naming its cause: a metrics port in use names
 * `--metrics-port`, a P2P address in use names `--listen`. Anything else passes through.
 */
export function explainStartError(err: unknown, ctx: StartContext): unknown {
  if (err instanceof CliError) return err
  // crdt's DamagedDataFileError already names the file and the damage (by name: --help stays
  // free of crdt's imports).
  if (err instanceof Error && err.name === 'DamagedDataFileError') return new CliError(err.message)
  const sys = systemError(err)
  if (sys === undefined || WHY[sys.code!] === undefined) return err
  const why = WHY[sys.code!]!
  if (ctx.metricsPort !== undefined && ctx.metricsPort !== 0 && sys.port === ctx.metricsPort) {
    return new CliError(
      `cannot serve metrics on ${ctx.metricsHost ?? '127.0.0.1'}:${ctx.metricsPort}: ${why} (choose another with --metrics-port)`,
    )
  }
  const address =
    ctx.listen.find((a) => sys.port !== undefined && a.endsWith(`/tcp/${sys.port}`)) ?? ctx.listen.join(', ')
  return new CliError(`cannot listen on ${address}: ${why} (choose another with --listen)`, undefined, {
    cause: err,
  })
}
