import { copyFile, mkdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { IDENTITY_FILE } from '@provsync/sync'
import { NODE_CONFIG_FILE } from '../daemon.js'
import { CliError, ExitCode } from '../errors.js'
import type { NodeContext } from './handlers.js'
import { InvalidRequestError, type Params, text } from './params.js'

/** Lets a blocked peer sync again before its block runs out. */
export async function unblock(ctx: NodeContext, params: Params) {
  const peer = text(params, 'peer', { maxBytes: 128 })
  const { peerIdFromString } = await import('@libp2p/peer-id')
  let id: ReturnType<typeof peerIdFromString>
  try {
    id = peerIdFromString(peer)
  } catch {
    throw new InvalidRequestError(`not a peer id: ${peer}`)
  }
  const wasBlocked = ctx.node.sync.isBlocked(id)
  ctx.node.sync.unblock(id)
  return { peer, wasBlocked }
}

/** Dials a peer now; resolves once the connection is up (or fails with the dialer's reason). */
export async function connect(ctx: NodeContext, params: Params, signal?: AbortSignal) {
  const address = text(params, 'address', { maxBytes: 1024 })
  const { multiaddr } = await import('@multiformats/multiaddr')
  let ma: ReturnType<typeof multiaddr>
  try {
    ma = multiaddr(address)
  } catch (err) {
    throw new InvalidRequestError(`not a multiaddr: ${address} (${(err as Error).message})`)
  }
  try {
    const connection = await ctx.node.libp2p.dial(ma, signal !== undefined ? { signal } : {})
    return { peer: connection.remotePeer.toString(), address: connection.remoteAddr.toString() }
  } catch (err) {
    throw new CliError(
      `could not connect to ${address}: ${(err as Error).message.split('\n', 1)[0]}`,
      ExitCode.requestFailed,
    )
  }
}

/**
 * Files of a data directory a restore needs next to the LMDB environment (read when called:
 * daemon.ts imports this module through the control handlers).
 */
const sideFiles = () => [IDENTITY_FILE, NODE_CONFIG_FILE] as const

/**
 * A consistent copy of the running node's data directory into `target` (a new directory):
 * LMDB's own copy of the open environment (one read transaction: stores, trees, view, history
 * and ledger as of one instant), then the identity key and node.json. Starting a node on the
 * copy restores it; the ledger replays at open.
 */
export async function backup(ctx: NodeContext, params: Params) {
  const target = text(params, 'target', { maxBytes: 4096 })
  if (
    await stat(target).then(
      () => true,
      () => false,
    )
  )
    throw new CliError(`${target} already exists; a backup goes to a new directory`, ExitCode.requestFailed)
  // Read before the copy: the copy holds at least this much of the ledger.
  const ledgerSeq = ctx.node.state.ledger.latestSeq()
  await mkdir(target, { mode: 0o700, recursive: true })
  let bytes: number
  try {
    ;({ bytes } = await ctx.node.state.backup(target))
    for (const file of sideFiles()) {
      await copyFile(join(ctx.dataDir, file), join(target, file)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err
      })
    }
  } catch (err) {
    await rm(target, { recursive: true, force: true })
    throw new CliError(`backup to ${target} failed: ${(err as Error).message}`, ExitCode.requestFailed)
  }
  return { target, bytes, ledgerSeq }
}
