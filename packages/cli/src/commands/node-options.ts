import { stat } from 'node:fs/promises'
import type { OptionValue, ParsedArgs } from '../args.js'
import { parseByteSize } from '../blobs/budget.js'
import type { DaemonOptions } from '../daemon.js'
import { CliError, UsageError } from '../errors.js'
import type { Io } from '../io.js'
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from '../log.js'
import type { Settings } from '../settings.js'
import { loadTrust } from '../trust.js'
import { parseChoice, parseInteger } from '../values.js'
import { dataDirOf } from './command.js'

/** The P2P port a node listens on when no `--listen` is given (libp2p's customary port). */
export const DEFAULT_P2P_PORT = 4001
export const DEFAULT_LISTEN = [`/ip4/0.0.0.0/tcp/${DEFAULT_P2P_PORT}`]
export const DEFAULT_METRICS_HOST = '127.0.0.1'

export interface NodePlan {
  readonly daemon: DaemonOptions & { readonly metricsHost?: string }
  readonly logLevel: LogLevel
  readonly logFormat: LogFormat
}

/**
 * Turns the merged settings (flag > environment > config file > default) into the daemon's
 * options, checking every value first: nothing is created on disk before the command line is
 * known to be good, and each error names the flag (or variable, or config key) it came from.
 */
export async function planNode(args: ParsedArgs, settings: Settings, io: Io): Promise<NodePlan> {
  const command = args.command
  const values = settings.values
  const text = (name: string): string | undefined => last(values[name])
  const int = (name: string, min: number, max: number): number | undefined => {
    const value = text(name)
    return value === undefined ? undefined : parseInteger(command, settings.source(name), value, min, max)
  }
  const logLevel = parseChoice(command, settings.source('log-level'), text('log-level') ?? 'info', LOG_LEVELS)
  const logFormat = parseChoice(
    command,
    settings.source('log-format'),
    text('log-format') ?? 'text',
    LOG_FORMATS,
  )
  const network = text('network')
  if (network !== undefined && network.trim() === '')
    throw new UsageError(command, `${settings.source('network')} must not be empty`)
  const listen = await multiaddrs(command, settings, 'listen')
  const bootstrap = await multiaddrs(command, settings, 'bootstrap')
  const metricsPort = int('metrics-port', 0, 65535)
  const metricsHost = text('metrics-host')
  if (metricsHost !== undefined && metricsPort === undefined)
    throw new UsageError(command, `${settings.source('metrics-host')} needs --metrics-port`)
  const announceMs = int('announce-ms', 1, 3_600_000)
  const antiEntropyMs = int('anti-entropy-ms', 10, 86_400_000)
  const blobBudget = text('blob-budget')
  const trustSources = list(values.trust)
  const trust = trustSources.length === 0 ? undefined : await loadTrust(trustSources)
  const trustThreshold = threshold(command, settings, trust?.length)
  const closed = closedMode(command, settings)
  const dataDir = dataDirOf({ ...args, values }, io)
  await checkDataDir(dataDir)
  return {
    logLevel,
    logFormat,
    daemon: {
      dataDir,
      ...(network !== undefined ? { networkId: network } : {}),
      ...(trust !== undefined ? { trust } : {}),
      ...(trustThreshold !== undefined ? { trustThreshold } : {}),
      listen: listen.length > 0 ? listen : DEFAULT_LISTEN,
      bootstrap,
      mdns: values.mdns === true,
      ...(closed !== undefined ? { closed } : {}),
      ...(metricsPort !== undefined ? { metricsPort, metricsHost: metricsHost ?? DEFAULT_METRICS_HOST } : {}),
      ...(announceMs !== undefined ? { announceDebounceMs: announceMs } : {}),
      ...(antiEntropyMs !== undefined ? { antiEntropyMs } : {}),
      ...(blobBudget !== undefined
        ? { blobBudget: parseByteSize(command, settings.source('blob-budget'), blobBudget) }
        : {}),
    },
  }
}

/** `--trust-threshold`: 1 to the number of `--trust` keys, and only with them. */
function threshold(command: string, settings: Settings, keys: number | undefined): number | undefined {
  const text = last(settings.values['trust-threshold'])
  if (text === undefined) return undefined
  const source = settings.source('trust-threshold')
  if (keys === undefined) throw new UsageError(command, `${source} needs --trust (the keys it counts)`)
  return parseInteger(command, source, text, 1, keys)
}

/** How strongly a setting was given: a flag over the environment over the config file. */
function rank(source: string): number {
  return source.startsWith('--') ? 3 : source.startsWith('PROVSYNC_') ? 2 : 1
}

/**
 * Closed mode: true (`--closed`), false (`--open`, or `closed` false in the environment or the
 * config file), undefined when neither is given (the node keeps what node.json remembers).
 * `--closed` and `--open` from the same source contradict; otherwise the stronger source wins.
 */
function closedMode(command: string, settings: Settings): boolean | undefined {
  const closed = settings.values.closed as boolean | undefined
  const open = settings.values.open === true
  if (!open) return closed
  if (closed !== true) return false
  const [c, o] = [rank(settings.source('closed')), rank(settings.source('open'))]
  if (c === o)
    throw new UsageError(
      command,
      `${settings.source('closed')} and ${settings.source('open')} contradict each other`,
    )
  return c > o
}

function last(value: OptionValue): string | undefined {
  if (Array.isArray(value)) return value[value.length - 1]
  return typeof value === 'string' ? value : undefined
}

function list(value: OptionValue): string[] {
  if (Array.isArray(value)) return value
  return typeof value === 'string' ? [value] : []
}

async function multiaddrs(command: string, settings: Settings, name: string): Promise<string[]> {
  const texts = list(settings.values[name])
  if (texts.length === 0) return []
  const { multiaddr } = await import('@multiformats/multiaddr')
  for (const text of texts) {
    try {
      multiaddr(text)
    } catch (err) {
      const why = (err as Error).message.split('\n', 1)[0]
      throw new UsageError(command, `${settings.source(name)} '${text}' is not a multiaddr (${why})`)
    }
    if (!text.startsWith('/'))
      throw new UsageError(command, `${settings.source(name)} '${text}' is not a multiaddr`)
  }
  return texts
}

/** A data directory that exists must be a directory; one that does not is created by the daemon. */
async function checkDataDir(dataDir: string): Promise<void> {
  const info = await stat(dataDir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined
    throw new CliError(`data directory ${dataDir}: ${err.code ?? err.message}`)
  })
  if (info !== undefined && !info.isDirectory())
    throw new CliError(
      `data directory ${dataDir} is a file, not a directory (choose another with --data-dir)`,
    )
}
