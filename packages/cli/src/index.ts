/**
 * @provsync/cli: the `provsync` command (run a node, inspect its state and provenance, gate,
 * revoke and reinstate) and the pieces it is built from, for programs that embed a node and want
 * the same control channel.
 */
export { type CommandSpec, helpText, type OptionSpec, type ParsedArgs, parseCommandArgs } from './args.js'
export type { Command } from './commands/command.js'
export { DEFAULT_DATA_DIR } from './commands/command.js'
export { type CallOptions, callNode } from './control/client.js'
export {
  applyRevocation,
  audit,
  clock,
  createControlHandler,
  gate,
  ledger,
  METHODS,
  type Method,
  type NodeContext,
  RevocationRefusedError,
  status,
  verify,
} from './control/handlers.js'
export { InvalidRequestError } from './control/params.js'
export {
  CONTROL_SOCKET,
  type ControlReply,
  type ControlRequest,
  controlSocketPath,
  lineReader,
  MAX_LINE_BYTES,
  type ProgressEvent,
  parseReply,
  parseRequest,
} from './control/protocol.js'
export { type ControlHandler, type ControlServer, serveControl } from './control/server.js'
export {
  type Daemon,
  type DaemonOptions,
  DEFAULT_NETWORK_ID,
  NODE_CONFIG_FILE,
  startDaemon,
} from './daemon.js'
export {
  CliError,
  ControlProtocolError,
  ExitCode,
  errorLine,
  exitCodeOf,
  KeyFileError,
  NodeRunningError,
  NoNodeError,
  RequestFailedError,
  TrustBundleError,
  UsageError,
} from './errors.js'
export { toHex } from './hex.js'
export { keyOfPeerId, peerIdOfKey } from './identity.js'
export { type Io, type Output, type Progress, processIo, terminalProgress, toJson } from './io.js'
export {
  generateKeyPair,
  type KeyKind,
  type KeyPair,
  keyPairFromSeed,
  readKeyFile,
  writeNewKey,
} from './keys.js'
export { COMMANDS, globalHelp, main } from './main.js'
export { loadTrust, parseTrustFile } from './trust.js'
