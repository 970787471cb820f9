import type { verify as verifyHandler } from '../control/handlers.js'
import { ExitCode } from '../errors.js'
import { type Command, dataDirOption, jsonOption, printView } from './command.js'
import { ask } from './remote.js'

export type VerifyView = Awaited<ReturnType<typeof verifyHandler>>

export const verify: Command = {
  spec: {
    name: 'verify',
    summary:
      'Recompute every Merkle tree from its records and compare with what is stored. Exit 1 on a mismatch.',
    positionals: [],
    options: { 'data-dir': dataDirOption, json: jsonOption },
  },
  async run(args, io) {
    const view = await ask<VerifyView>(args, io, 'verify')
    printView(args, io, view, formatVerify)
    return view.ok ? ExitCode.ok : ExitCode.refused
  },
}

export function formatVerify(view: VerifyView): string {
  const lines = view.stores.map(
    (s) =>
      `${s.store.padEnd(13)} ${s.ok ? 'ok' : `${s.mismatchCount} MISMATCH${s.mismatchCount === 1 ? '' : 'ES'}`}: ` +
      `${s.leaves} records, ${s.nodes} tree nodes, root ${s.root}`,
  )
  for (const s of view.stores) for (const m of s.mismatches) lines.push(`  ${m}`)
  lines.push(view.ok ? 'every tree matches its records' : 'verification FAILED')
  return `${lines.join('\n')}\n`
}
