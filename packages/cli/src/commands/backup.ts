import { resolve } from 'node:path'
import type { backup as backupHandler } from '../control/admin.js'
import { type Command, dataDirOption, jsonOption, printView } from './command.js'
import { ask } from './remote.js'

export const backup: Command = {
  spec: {
    name: 'backup',
    summary: 'Copy the running node’s data directory, consistently, into a new directory.',
    positionals: ['dir'],
    options: { 'data-dir': dataDirOption, json: jsonOption },
    details: `
The node copies its LMDB environment in one read transaction (every store, tree, index, the view,
history and revocation ledger as of one instant) while it keeps running and syncing, then its
identity key and node.json. <dir> must not exist.

Restore: stop the node, then start one on the copy (provsync node --data-dir <dir>); the ledger
replays at open, so nothing a revocation removed comes back. Check a copy with no node running:
provsync verify --offline --data-dir <dir>.`,
  },
  async run(args, io) {
    const target = resolve(io.cwd, args.positionals[0]!)
    const view = await ask<Awaited<ReturnType<typeof backupHandler>>>(args, io, 'backup', { target })
    printView(args, io, view, (v) => `backed up to ${v.target}: ${v.bytes} bytes, ledger #${v.ledgerSeq}\n`)
    return 0
  },
}
