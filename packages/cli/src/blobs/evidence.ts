import { type OptionSpec, type ParsedArgs, stringOption } from '../args.js'
import { blobId } from '../commands/blob.js'
import { ask } from '../commands/remote.js'
import { CliError, ExitCode } from '../errors.js'
import type { Io } from '../io.js'

type Args = ParsedArgs

/** `--evidence <blob id>` of `supersede` and `record`. */
export const evidenceOption: OptionSpec = {
  type: 'string',
  value: '<blob id>',
  description: 'an evidence blob this node holds (provsync blob put) for the record to carry',
}

/**
 * The `--evidence` blob id (hex), checked with the node: it must hold the blob's manifest (put here
 * or fetched), since a peer that reads the record fetches the blob from this node first. A record
 * with evidence is a version-2 record: nodes of the first release name no such kind in their hello
 * and are never sent it, and keep syncing every other record (docs/DESIGN.md).
 */
export async function evidenceArg(args: Args, io: Io): Promise<string | undefined> {
  const text = stringOption(args, 'evidence')
  if (text === undefined) return undefined
  const id = blobId(args, text)
  const status = await ask<{ manifest: boolean }>(args, io, 'blob.stat', { id })
  if (!status.manifest)
    throw new CliError(
      `evidence blob ${id} is not held by this node: store it first (provsync blob put <file>)`,
      ExitCode.requestFailed,
    )
  return id
}
