import { parseRun } from '../values.js'
import { readSigner, recordLine, signAndSubmit } from './artifact-sign.js'
import { checkScopeArg, operatorKeyOption } from './artifacts.js'
import { type Command, dataDirOption, jsonOption, printView } from './command.js'

export const epoch: Command = {
  spec: {
    name: 'epoch',
    summary:
      "Raise a scope prefix's minimum authority epoch, signed by an operator: older artifacts stop counting.",
    positionals: ['scope', 'min-epoch'],
    options: {
      'data-dir': dataDirOption,
      'operator-key': operatorKeyOption,
      json: jsonOption,
    },
    details: `
Every artifact in <scope> or below it signed at an epoch under <min-epoch> is refused from then
on (stale-epoch) and stops being current: each name falls back to its best remaining version.
The minimum of a scope is the highest of the epochs set on it and on the prefixes above it, so
an epoch is never lowered. Publishers then sign at --epoch <min-epoch> or above.

Exit status: 0 applied (or already recorded), 2 bad arguments, 3 no node running,
4 the node refused the record (untrusted-operator, ...), 5 the key file cannot be read.`,
  },
  async run(args, io) {
    const lib = await import('@provsync/artifacts/records')
    const scope = checkScopeArg(lib, args.command, '<scope>', args.positionals[0]!)
    const minEpoch = parseRun(args.command, '<min-epoch>', args.positionals[1]!)
    const operator = await readSigner(args, io, 'operator-key', ['operator'])
    const view = await signAndSubmit(
      args,
      io,
      (networkId, at) => lib.signScopeEpoch({ scope, minEpoch }, operator, networkId, at).bytes,
    )
    printView(
      args,
      io,
      { ...view, scope, minEpoch: minEpoch.toString() },
      (v) => `${recordLine(v, `minimum epoch ${minEpoch} set on ${scope}`)}\n`,
    )
    return 0
  },
}
