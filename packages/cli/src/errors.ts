/**
 * Exit statuses of the `provsync` command. Scripts branch on them, so they never change meaning:
 * 1 is reserved for a clean "no" (the gate refused, verify found a mismatch), never for a failure.
 */
export const ExitCode = {
  /** Success; the gate allows; verify found every tree intact. */
  ok: 0,
  /** The gate refuses; verify found a mismatch. */
  refused: 1,
  /** Bad or missing arguments. */
  usage: 2,
  /** No node runs at the data directory. */
  noNode: 3,
  /** The node refused or failed the request (an untrusted operator key, an unknown peer, ...). */
  requestFailed: 4,
  /** A local failure: unreadable key or trust file, a node that could not start, a broken reply. */
  failure: 5,
} as const

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

/** Base class of every failure the command reports; `exitCode` is what the process exits with. */
export class CliError extends Error {
  readonly exitCode: ExitCode
  constructor(message: string, exitCode: ExitCode = ExitCode.failure, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
    this.exitCode = exitCode
  }
}

/** Arguments that do not fit the command; the message names the command and the fix. */
export class UsageError extends CliError {
  readonly command: string
  constructor(command: string, message: string) {
    super(`${command}: ${message} (see ${command} --help)`, ExitCode.usage)
    this.command = command
  }
}

/** Nothing listens on the control socket of `dataDir`. */
export class NoNodeError extends CliError {
  readonly dataDir: string
  constructor(dataDir: string) {
    super(
      `no node running at ${dataDir} (start one with: provsync node --data-dir ${dataDir})`,
      ExitCode.noNode,
    )
    this.dataDir = dataDir
  }
}

/** Another node already owns `dataDir`: two processes must never open one LMDB environment. */
export class NodeRunningError extends CliError {
  readonly dataDir: string
  constructor(dataDir: string) {
    super(`a node is already running at ${dataDir}`, ExitCode.failure)
    this.dataDir = dataDir
  }
}

/** The node answered a request with an error; `remoteName` is the error class on the node's side. */
export class RequestFailedError extends CliError {
  readonly remoteName: string
  constructor(remoteName: string, message: string) {
    super(message, ExitCode.requestFailed)
    this.remoteName = remoteName
  }
}

/** The control channel carried something that is not the protocol (a line too long, bad JSON). */
export class ControlProtocolError extends CliError {}

/** A key file that is missing, unreadable, of the wrong kind or too widely readable. */
export class KeyFileError extends CliError {
  readonly file: string
  constructor(file: string, message: string, options?: ErrorOptions) {
    super(`${file}: ${message}`, ExitCode.failure, options)
    this.file = file
  }
}

/** A trust bundle that cannot be read or holds something other than operator public keys. */
export class TrustBundleError extends CliError {
  readonly source: string
  constructor(source: string, message: string) {
    super(`trust bundle ${source}: ${message}`, ExitCode.failure)
    this.source = source
  }
}

/** One line, whatever the error: the first line of the message, named when it is not ours. */
export function errorLine(err: unknown): string {
  if (err instanceof CliError) return firstLine(err.message)
  if (err instanceof Error) return firstLine(`${err.name}: ${err.message}`)
  return firstLine(String(err))
}

export function exitCodeOf(err: unknown): ExitCode {
  return err instanceof CliError ? err.exitCode : ExitCode.failure
}

function firstLine(text: string): string {
  const line = text.split(/\r?\n/, 1)[0] ?? ''
  return line.trim() === '' ? 'unknown error' : line.trimEnd()
}

/**
 * Why `io.signal` aborted: the process was asked to stop by `signal` (`bin.ts`). Not a failure: a
 * long-running command ends cleanly, and one that must end by the signal itself reads it here.
 */
export class StopRequestedError extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`received ${signal}`)
    this.name = 'StopRequestedError'
  }
}
