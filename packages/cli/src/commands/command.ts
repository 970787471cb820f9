import { resolve } from 'node:path'
import { type CommandSpec, flagOption, type OptionSpec, type ParsedArgs, stringOption } from '../args.js'
import { type Io, printJson } from '../io.js'

/** One `provsync` subcommand: its argument spec (and so its `--help`) and what it does. */
export interface Command {
  readonly spec: CommandSpec
  /** Resolves with the exit status; failures are thrown as CliErrors and reported by `main`. */
  run(args: ParsedArgs, io: Io): Promise<number>
}

export const DEFAULT_DATA_DIR = '.provsync'

export const dataDirOption: OptionSpec = {
  type: 'string',
  short: 'd',
  value: '<dir>',
  description: `the node's data directory (default $PROVSYNC_DATA_DIR or ./${DEFAULT_DATA_DIR})`,
}

export const jsonOption: OptionSpec = {
  type: 'boolean',
  description: 'print one JSON document instead of text',
}

export function dataDirOf(args: ParsedArgs, io: Io): string {
  // An empty variable counts as unset, so `PROVSYNC_DATA_DIR= provsync ...` never means the cwd.
  const fromEnv = io.env.PROVSYNC_DATA_DIR === '' ? undefined : io.env.PROVSYNC_DATA_DIR
  return resolve(io.cwd, stringOption(args, 'data-dir') ?? fromEnv ?? DEFAULT_DATA_DIR)
}

/** Prints a command's result: as one JSON document under `--json`, else as `format` renders it. */
export function printView<T>(args: ParsedArgs, io: Io, view: T, format: (view: T) => string): void {
  if (flagOption(args, 'json')) printJson(io, view)
  else io.stdout.write(format(view))
}
