import { writeFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { flagOption, stringOption } from '../args.js'
import type { getArtifact } from '../control/artifacts.js'
import { CliError, ExitCode } from '../errors.js'
import { type Output, printJson } from '../io.js'
import { checkScopeArg } from './artifacts.js'
import { type Command, dataDirOption, jsonOption } from './command.js'
import { ask } from './remote.js'

export type GetView = ReturnType<typeof getArtifact>

/** No current version to give: none, deleted, expired, or stale without --allow-stale (exit 1). */
export class NoCurrentVersionError extends CliError {
  readonly status: string
  constructor(command: string, what: string, status: string) {
    const why: Record<string, string> = {
      none: 'no version',
      deleted: 'deleted (the current version is a tombstone)',
      expired: 'the current version has expired',
      stale: 'the scope is not fresh (no peer holding it reachable); --allow-stale answers from local state',
    }
    super(`${command}: ${what}: ${why[status] ?? status}`, ExitCode.refused)
    this.status = status
  }
}

/** The current version's content is a blob reference, which get cannot fetch yet (exit 5). */
export class BlobContentError extends CliError {
  constructor(command: string, what: string, blob: { id: string; size: number }) {
    super(`${command}: ${what} is a blob of ${blob.size} bytes (${blob.id}); get does not fetch blobs yet`)
  }
}

export const get: Command = {
  spec: {
    name: 'get',
    summary: 'Print the content of the current version of an artifact (or write it to --out).',
    positionals: ['scope', 'family', 'name'],
    options: {
      'data-dir': dataDirOption,
      out: {
        type: 'string',
        short: 'o',
        value: '<file>',
        description: 'write the content here instead of stdout',
      },
      'allow-stale': {
        type: 'boolean',
        description: 'answer from local state when the scope is not fresh (marked stale on stderr)',
      },
      json: { ...jsonOption, description: 'print the version (content in hex) as JSON' },
    },
    details: `
The current version is the highest (epoch, version) among the admissible versions: its
publisher holds a live publish grant and is not revoked, and its epoch is not below the scope's
minimum. A stale answer is never given as fresh: without --allow-stale it is refused.

Exit status: 0 the content was written (with --allow-stale a stale answer says so on stderr),
1 no current version (none, deleted, expired, or the scope is stale), 2 bad arguments, 3 no
node running, 4 the node refused the request, 5 the content is a blob (not fetched yet) or
--out cannot be written.`,
  },
  async run(args, io) {
    const lib = await import('@provsync/artifacts/records')
    const [scopeText, family, name] = args.positionals as [string, string, string]
    const scope = checkScopeArg(lib, args.command, '<scope>', scopeText)
    const allowStale = flagOption(args, 'allow-stale')
    const view = await ask<GetView>(args, io, 'artifact-get', { scope, family, name, allowStale })
    const what = `${scope} ${family}/${name}`
    if (flagOption(args, 'json')) {
      printJson(io, view)
      return view.status === 'current' ? ExitCode.ok : ExitCode.refused
    }
    if (view.status !== 'current') throw new NoCurrentVersionError(args.command, what, view.status)
    if (view.blob !== undefined) throw new BlobContentError(args.command, what, view.blob)
    if (view.stale)
      io.stderr.write(
        `${args.command}: ${what}: stale answer (epoch ${view.epoch} version ${view.version})\n`,
      )
    const content = new Uint8Array(Buffer.from(view.content ?? '', 'hex'))
    const out = stringOption(args, 'out')
    if (out === undefined) writeBytes(io.stdout, content)
    else await writeOut(args.command, resolve(io.cwd, out), content)
    return ExitCode.ok
  },
}

/** Content is bytes: a process stream takes them as they are; a test's capture gets UTF-8 text. */
function writeBytes(out: Output, bytes: Uint8Array): void {
  if (out === process.stdout) process.stdout.write(bytes)
  else out.write(Buffer.from(bytes).toString('utf8'))
}

async function writeOut(command: string, file: string, content: Uint8Array): Promise<void> {
  try {
    await writeFile(file, content)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === undefined) throw err
    throw new CliError(`${command}: --out ${file}: ${code}`)
  }
}
