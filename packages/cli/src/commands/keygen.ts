import { resolve } from 'node:path'
import { flagOption, stringOption } from '../args.js'
import { UsageError } from '../errors.js'
import { printJson } from '../io.js'
import { type KeyKind, writeNewKey } from '../keys.js'
import { type Command, jsonOption } from './command.js'

export const keygen: Command = {
  spec: {
    name: 'keygen',
    summary: 'Create an Ed25519 key pair: an operator key (signs revocations) or an agent key.',
    positionals: [],
    options: {
      operator: { type: 'boolean', description: 'an operator key, whose public half goes in trust bundles' },
      agent: { type: 'boolean', description: 'an agent key, for a service that signs its own records' },
      out: {
        type: 'string',
        short: 'o',
        value: '<file>',
        description: 'secret key file (default ./<kind>.key)',
      },
      force: { type: 'boolean', description: 'replace an existing key file' },
      json: jsonOption,
    },
    details: `
The secret key is written with mode 0600 and never printed; the public key goes to <file>.pub
(one line of hex), which is what a trust bundle lists: provsync node --trust operator.key.pub`,
  },
  async run(args, io) {
    const wanted = (['operator', 'agent'] as const).filter((kind) => flagOption(args, kind))
    if (wanted.length !== 1) throw new UsageError(args.command, 'choose exactly one of --operator or --agent')
    const kind: KeyKind = wanted[0]!
    const file = resolve(io.cwd, stringOption(args, 'out') ?? `${kind}.key`)
    const written = await writeNewKey(kind, file, { force: flagOption(args, 'force') })
    if (flagOption(args, 'json')) printJson(io, written)
    else {
      io.stdout.write(
        `${kind} key ${written.publicKey}\n  secret  ${written.keyFile} (mode 0600)\n  public  ${written.publicKeyFile}\n`,
      )
    }
    return 0
  },
}
