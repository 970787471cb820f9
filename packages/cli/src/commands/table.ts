import { artifacts } from './artifacts.js'
import { audit } from './audit.js'
import { backup } from './backup.js'
import { blob } from './blob.js'
import type { Command } from './command.js'
import { completion } from './completion.js'
import { epoch } from './epoch.js'
import { exportCommand } from './export.js'
import { gate } from './gate.js'
import { get } from './get.js'
import { grant } from './grant.js'
import { importCommand } from './import.js'
import { invalidate, lift } from './invalidate.js'
import { keygen } from './keygen.js'
import { ledger } from './ledger.js'
import { node } from './node.js'
import { connect, peers, unblock } from './peers.js'
import { publish } from './publish.js'
import { record } from './record.js'
import { reinstate, revoke } from './revoke.js'
import { status } from './status.js'
import { supersede } from './supersede.js'
import { supersessions } from './supersessions.js'
import { trust } from './trust.js'
import { verify } from './verify.js'
import { view } from './view.js'

/**
 * Every `provsync` command, in the order `--help` lists them. A new command is one line here
 * (its module exports a `Command`): help, "did you mean", and shell completion follow.
 */
export const COMMANDS: readonly Command[] = [
  node,
  keygen,
  status,
  record,
  view,
  audit,
  gate,
  supersede,
  supersessions,
  peers,
  unblock,
  connect,
  revoke,
  reinstate,
  invalidate,
  lift,
  ledger,
  grant,
  epoch,
  publish,
  get,
  artifacts,
  trust,
  backup,
  blob,
  exportCommand,
  importCommand,
  verify,
  completion,
]
