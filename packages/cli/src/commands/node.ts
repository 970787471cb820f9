import type { OffenceEvent, PeerFailure, ProvsyncNode, SyncReport } from '@provsync/sync'
import { toHex } from '../hex.js'
import { type Io, terminalProgress } from '../io.js'
import { createLog, LOG_FORMATS, LOG_LEVELS, type Log } from '../log.js'
import { envName, resolveSettings } from '../settings.js'
import { explainStartError } from '../start-errors.js'
import { type Command, DEFAULT_DATA_DIR, dataDirOption, jsonOption, printView } from './command.js'
import { DEFAULT_LISTEN, DEFAULT_METRICS_HOST, planNode } from './node-options.js'

export const node: Command = {
  spec: {
    name: 'node',
    summary:
      'Run a long-lived provsync node on LMDB in its data directory; prints its peer id and addresses.',
    positionals: [],
    options: {
      'data-dir': dataDirOption,
      config: {
        type: 'string',
        short: 'c',
        value: '<file>',
        description: 'read settings from a JSON file, flag names as keys (default $PROVSYNC_CONFIG)',
      },
      listen: {
        type: 'string',
        multiple: true,
        short: 'l',
        value: '<multiaddr>',
        description: `listen address (default ${DEFAULT_LISTEN.join(', ')})`,
      },
      bootstrap: {
        type: 'string',
        multiple: true,
        short: 'b',
        value: '<multiaddr>',
        description: 'peer to dial at start and redial while disconnected',
      },
      network: {
        type: 'string',
        short: 'n',
        value: '<id>',
        description: 'network id (default: as last started, else "provsync")',
      },
      trust: {
        type: 'string',
        multiple: true,
        short: 't',
        value: '<file|hex>',
        description: 'operator public key, or a file of them (default: as last started)',
      },
      'metrics-port': {
        type: 'string',
        value: '<port>',
        description: 'serve Prometheus metrics at /metrics',
      },
      'metrics-host': {
        type: 'string',
        value: '<address>',
        description: `bind address of the metrics port (default ${DEFAULT_METRICS_HOST})`,
      },
      'log-level': {
        type: 'string',
        value: '<level>',
        description: `${LOG_LEVELS.join(', ')} (default info)`,
      },
      'log-format': {
        type: 'string',
        value: '<format>',
        description: `${LOG_FORMATS.join(' or ')}: one line per event on stderr (default text)`,
      },
      mdns: { type: 'boolean', description: 'discover peers on the local network' },
      'trust-threshold': {
        type: 'string',
        value: '<n>',
        description: 'how many --trust keys must sign the next trust bundle (default a majority)',
      },
      closed: {
        type: 'boolean',
        description:
          "closed network: sync only with peers presenting a live member grant, presenting this node's own (remembered)",
      },
      open: {
        type: 'boolean',
        description: 'leave a closed network: sync with any peer of the network again (remembered)',
      },
      'blob-budget': {
        type: 'string',
        value: '<bytes>',
        description:
          'bytes of fetched, unpinned blob chunks kept before the least recently used are evicted (default 1GiB)',
      },
      'announce-ms': { type: 'string', value: '<ms>', description: 'debounce of head announcements' },
      'anti-entropy-ms': {
        type: 'string',
        value: '<ms>',
        description: 'interval of periodic syncs with a random peer',
      },
      json: { ...jsonOption, description: 'print the ready line as JSON' },
    },
    details: `
With no options it starts a node on ./${DEFAULT_DATA_DIR}, listening on TCP port 4001 on every
interface. The network id, the trust bundle in force and closed mode are remembered in
<dir>/node.json, so a restart needs none of them. Other commands talk to the running node over <dir>/control.sock. Stop it with Ctrl-C.

Every option can also come from the environment (${envName('metrics-port')}=9090; lists
comma-separated; flags 1/0) or from --config <file> (JSON: {"listen": ["/ip4/0.0.0.0/tcp/4001"],
"metrics-port": 9090}). Precedence: flag > environment > config file > default.
libp2p's own debug lines follow its DEBUG variable (DEBUG='libp2p:*').

Closed network (--closed, or "closed": true in the config file; remembered, so a restart without
the flag stays closed; --open leaves it): the node syncs crdt stores and artifacts only with peers
presenting a live operator-signed member grant, presents its own, and sends head announcements to
members only; a refused peer gets one not-admitted refusal and learns nothing. Provision a node
first: start it with --open, run provsync grant <its peer id> member --epoch <n> -k
<operator key>, then restart it with --closed.

Trust rotation: --trust gives the first trust bundle (version 0; --trust-threshold of its keys,
default a majority, must sign the next). Newer bundles published in the "trust" scope (provsync
trust propose|sign|publish) take effect when signed by that threshold; the node follows them
link by link, obeys the new operators at once and remembers the bundle in force. Giving the same
--trust again keeps the rotations; other keys start a new chain.

Exit status: 0 stopped by a signal, 2 bad arguments, 5 the node could not start (a port in use,
a damaged data file, --closed without a live member grant of its own, ...).`,
  },
  async run(args, io) {
    const settings = resolveSettings(args, node.spec.options, io.env, io.cwd)
    const plan = await planNode(args, settings, io)
    const log = createLog(io.stderr, plan.logLevel, plan.logFormat)
    // Loaded here, not at the top: the client commands never pay for libp2p and LMDB.
    const { startDaemon } = await import('../daemon.js')
    const daemon = await startDaemon(plan.daemon).catch((err: unknown) => {
      throw explainStartError(err, plan.daemon as Parameters<typeof explainStartError>[1])
    })
    const { node: provsyncNode } = daemon
    const ready = {
      event: 'ready',
      peerId: provsyncNode.peerId.toString(),
      publicKey: toHex(provsyncNode.publicKey),
      networkId: daemon.networkId,
      addresses: provsyncNode.multiaddrs().map((a) => a.toString()),
      dataDir: plan.daemon.dataDir,
      control: daemon.control.path,
      trustedOperators: daemon.trust.length,
      trustVersion: daemon.bundle().version.toString(),
      closed: daemon.closed,
      metricsPort: provsyncNode.metricsServer?.port ?? null,
      metricsHost:
        provsyncNode.metricsServer === undefined ? null : (plan.daemon.metricsHost ?? DEFAULT_METRICS_HOST),
    }
    printView(args, io, ready, readyText)
    if (daemon.trust.length === 0) log.warn('no trust bundle: this node obeys no revocations (see --trust)')
    if (daemon.trustReset !== undefined)
      log.warn(
        `--trust replaced trust bundle version ${daemon.trustReset} (node.json) with a new chain at version 0`,
      )
    const detach = watch(daemon.node, io, log, plan.daemon.bootstrap?.length ?? 0)
    await untilAborted(io.signal)
    log.info('stopping')
    detach()
    await daemon.stop()
    return 0
  },
}

function readyText(ready: {
  peerId: string
  networkId: string
  addresses: string[]
  dataDir: string
  control: string
  trustedOperators: number
  trustVersion: string
  closed: boolean
  metricsPort: number | null
  metricsHost: string | null
}): string {
  const lines = [
    `provsync node ${ready.peerId} on network ${JSON.stringify(ready.networkId)}`,
    ...ready.addresses.map((a) => `  listening  ${a}`),
    `  data dir   ${ready.dataDir}`,
    `  control    ${ready.control}`,
    `  trust      ${ready.trustedOperators} operator key${ready.trustedOperators === 1 ? '' : 's'}${ready.trustVersion === '0' ? '' : ` (trust bundle version ${ready.trustVersion})`}`,
  ]
  if (ready.closed) lines.push('  closed     members only (--open to leave)')
  if (ready.metricsPort !== null)
    lines.push(
      `  metrics    http://${ready.metricsHost ?? DEFAULT_METRICS_HOST}:${ready.metricsPort}/metrics`,
    )
  return `${lines.join('\n')}\n`
}

/** Logs what the node does, and shows the initial sync with the bootstrap peers on a terminal. */
function watch(provsyncNode: ProvsyncNode, io: Io, log: Log, bootstrapCount: number): () => void {
  const { sync, libp2p } = provsyncNode
  const progress = terminalProgress(io.stderr)
  // The initial sync is over once a session (ours or theirs: only one side of a pair initiates)
  // has finished with as many peers as were given to bootstrap from.
  const initial = new Set<string>()
  let initialPulled = 0
  const onFinished = (evt: CustomEvent<SyncReport>): void => {
    const r = evt.detail
    const what = `${r.direction} sync with ${r.peer} (${r.reason}): pulled ${r.pulled}, applied ${r.applied}, refused ${r.refused}, ${Math.round(r.durationMs)} ms`
    if (r.error !== undefined) log.warn(`${what} failed: ${r.error.message}`)
    else if (r.applied > 0 || r.refused > 0) log.info(what)
    else log.debug(what)
    if (initial.size < bootstrapCount && r.error === undefined && !initial.has(r.peer.toString())) {
      initial.add(r.peer.toString())
      initialPulled += r.pulled
      progress.update(`initial sync: ${initialPulled} records pulled, peers`, initial.size, bootstrapCount)
      if (initial.size === bootstrapCount) {
        progress.end()
        log.info(`initial sync done: ${initialPulled} records pulled from ${bootstrapCount} peer(s)`)
      }
    }
  }
  const onOffence = (evt: CustomEvent<OffenceEvent>): void => {
    const o = evt.detail
    log.warn(`offence by ${o.peer}: ${o.reason} (${o.detail})${o.blocked ? ', peer blocked' : ''}`, {
      event: 'offence',
      peer: o.peer.toString(),
      reason: o.reason,
      blocked: o.blocked,
    })
  }
  // Failures that are nobody's offence (an unreachable bootstrap peer, a peer of another network)
  // are logged at the default level too: before, they showed only as "never" in status.
  const onFailure = (evt: CustomEvent<PeerFailure>): void => {
    const f = evt.detail
    log.warn(`cannot sync with ${f.peer}: ${f.reason}`, {
      event: 'peer-failure',
      peer: f.peer.toString(),
      reason: f.reason,
    })
  }
  const onConnect = (evt: CustomEvent<{ toString(): string }>): void => log.info(`connected to ${evt.detail}`)
  const onDisconnect = (evt: CustomEvent<{ toString(): string }>): void =>
    log.info(`disconnected from ${evt.detail}`)
  sync.addEventListener('sync:finished', onFinished)
  sync.addEventListener('peer:offence', onOffence)
  sync.addEventListener('peer:failure', onFailure)
  const stopWriteHealth = provsyncNode.state.onWriteHealth((health) =>
    health.writable
      ? log.info('writes resumed')
      : log.error(`writes suspended: ${health.cause ?? health.code} (reads and the gate still answer)`),
  )
  libp2p.addEventListener('peer:connect', onConnect)
  libp2p.addEventListener('peer:disconnect', onDisconnect)
  return () => {
    progress.end()
    sync.removeEventListener('sync:finished', onFinished)
    sync.removeEventListener('peer:offence', onOffence)
    sync.removeEventListener('peer:failure', onFailure)
    stopWriteHealth()
    libp2p.removeEventListener('peer:connect', onConnect)
    libp2p.removeEventListener('peer:disconnect', onDisconnect)
  }
}

function untilAborted(signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return new Promise(() => {})
  if (signal.aborted) return Promise.resolve()
  return new Promise((resolveWait) => signal.addEventListener('abort', () => resolveWait(), { once: true }))
}
