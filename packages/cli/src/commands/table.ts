import { audit } from './audit.js'
import type { Command } from './command.js'
import { gate } from './gate.js'
import { keygen } from './keygen.js'
import { ledger } from './ledger.js'
import { node } from './node.js'
import { reinstate, revoke } from './revoke.js'
import { status } from './status.js'
import { verify } from './verify.js'

/**
 * Every `provsync` command, in the order `--help` lists them. A new command is one line here
 * (its module exports a `Command`): help, "did you mean", and shell completion follow.
 */
export const COMMANDS: readonly Command[] = [
  node,
  keygen,
  status,
  audit,
  gate,
  revoke,
  reinstate,
  ledger,
  verify,
]
