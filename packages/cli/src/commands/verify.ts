import type { StateCheck } from '@provsync/crdt'
import { flagOption } from '../args.js'
import { CliError, ExitCode, NoNodeError } from '../errors.js'
import { type Io, terminalProgress } from '../io.js'
import { type Command, dataDirOf, dataDirOption, jsonOption, printView } from './command.js'
import { ask } from './remote.js'

export type VerifyView = StateCheck

export const verify: Command = {
  spec: {
    name: 'verify',
    summary:
      'Check a node state: every Merkle tree against its records and back, the view, the ledger. Exit 1 on a mismatch.',
    positionals: [],
    options: {
      'data-dir': dataDirOption,
      offline: {
        type: 'boolean',
        description: 'check the data directory itself, with no node running (a backup, a stopped node)',
      },
      json: jsonOption,
    },
    details: `
Without --offline the running node checks itself while it keeps syncing. With --offline the
command opens the data directory as a node would (the ledger replays at open), checks it and
closes it; it refuses a directory a node is running on.`,
  },
  async run(args, io) {
    const view = flagOption(args, 'offline')
      ? await verifyOffline(dataDirOf(args, io), io)
      : await ask<VerifyView>(args, io, 'verify')
    printView(args, io, view, formatVerify)
    return view.ok ? ExitCode.ok : ExitCode.refused
  },
}

/** fsck of a data directory: refused while a node runs on it, so two processes never share it. */
export async function verifyOffline(dataDir: string, io: Io): Promise<StateCheck> {
  const { callNode } = await import('../control/client.js')
  const running = await callNode(dataDir, 'clock', {}).then(
    () => true,
    (err: unknown) => {
      if (err instanceof NoNodeError) return false
      throw err
    },
  )
  if (running) throw new CliError(`a node is running at ${dataDir}; run provsync verify without --offline`)
  // node.json alone: the daemon module would load libp2p, which an offline check never needs.
  const { readNodeConfig } = await import('../node-config.js')
  const config = await readNodeConfig(dataDir)
  const { openNodeState, verifyState } = await import('@provsync/crdt')
  const state = await openNodeState({
    dataDir,
    networkId: config.networkId,
    trust: config.trust.map((hex) => new Uint8Array(Buffer.from(hex, 'hex'))),
  })
  const progress = terminalProgress(io.stderr)
  try {
    return await verifyState(state, {
      onProgress: (stage, done, total) => progress.update(stage, done, total),
    })
  } finally {
    progress.end()
    await state.close()
  }
}

export function formatVerify(view: VerifyView): string {
  const lines = view.stores.map(
    (s) =>
      `${s.store.padEnd(13)} ${s.ok ? 'ok' : `${s.mismatchCount} MISMATCH${s.mismatchCount === 1 ? '' : 'ES'}`}: ` +
      `${s.leaves} records, ${s.nodes} tree nodes, root ${s.root}`,
  )
  for (const s of view.stores) for (const m of s.mismatches) lines.push(`  ${m}`)
  lines.push(`${'view, ledger'.padEnd(13)} ${view.derived.ok ? 'ok' : 'MISMATCH'}`)
  for (const m of view.derived.mismatches) lines.push(`  ${m}`)
  lines.push(view.ok ? 'every tree matches its records' : 'verification FAILED')
  return `${lines.join('\n')}\n`
}
