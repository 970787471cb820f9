import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { ArtifactInput } from '@provsync/artifacts/records'
import { flagOption, type ParsedArgs, stringOption } from '../args.js'
import { CliError, UsageError } from '../errors.js'
import type { Io } from '../io.js'
import { parseDuration, parseU64, readSigner, recordLine, signAndSubmit } from './artifact-sign.js'
import { checkScopeArg } from './artifacts.js'
import { type Command, dataDirOption, jsonOption, printView } from './command.js'

type Artifacts = typeof import('@provsync/artifacts/records')

/** Content larger than the inline limit needs a blob, which this command cannot store yet. */
export class ContentTooLargeError extends UsageError {
  readonly size: number
  readonly limit: number
  constructor(command: string, file: string, size: number, limit: number) {
    super(
      command,
      `${file} is ${size} bytes, above the inline limit of ${limit} bytes; larger content needs blobs, which publish does not store yet`,
    )
    this.size = size
    this.limit = limit
  }
}

export const publish: Command = {
  spec: {
    name: 'publish',
    summary: 'Sign an artifact version with a publisher key and hand it to the node, which replicates it.',
    positionals: ['scope', 'family', 'name'],
    options: {
      'data-dir': dataDirOption,
      version: { type: 'string', value: '<n>', description: 'config version (required)' },
      epoch: {
        type: 'string',
        short: 'e',
        value: '<n>',
        description: "authority epoch, at least the scope's minimum (required)",
      },
      file: {
        type: 'string',
        short: 'f',
        value: '<file>',
        description: 'the content (required unless --tombstone)',
      },
      key: { type: 'string', short: 'k', value: '<file>', description: 'publisher key file (required)' },
      expires: {
        type: 'string',
        value: '<duration>',
        description: 'the version expires after this long (90s, 15m, 24h, 7d); default never',
      },
      base: { type: 'string', value: '<n>', description: 'for an increment: the version it applies to' },
      tombstone: { type: 'boolean', description: 'delete the name: a version with no content' },
      json: jsonOption,
    },
    details: `
The key (provsync keygen --agent, or an operator key) needs a live publish grant covering
<scope> (provsync grant <key>.pub publish --scope ...), and the node must hold <scope>: the
node checks the artifact as it checks a peer's. The current version of a name is the highest
(epoch, version). Content is carried inline up to 2,048 bytes; larger files are refused until
blobs are wired into publish.

Exit status: 0 applied (or already recorded), 2 bad arguments or content above the inline limit,
3 no node running, 4 the node refused the artifact (no-publish-grant, stale-epoch, out-of-scope,
...), 5 the key or content file cannot be read.`,
  },
  async run(args, io) {
    const lib = await import('@provsync/artifacts/records')
    const input = await artifactInput(lib, args, io)
    const publisher = await readSigner(args, io, 'key', ['agent', 'operator'])
    const view = await signAndSubmit(args, io, (networkId, at) => {
      const expires = stringOption(args, 'expires')
      const ttl = expires === undefined ? undefined : parseDuration(args.command, '--expires', expires)
      const expiresAt = ttl === undefined ? {} : { expiresAt: at.wallMs + ttl }
      return lib.signArtifact({ ...input, ...expiresAt }, publisher, networkId, at).bytes
    })
    const what = `${input.tombstone ? 'deleted' : 'published'} ${input.scope} ${input.family}/${input.name} epoch ${input.epoch} version ${input.version}`
    const result = { ...view, scope: input.scope, family: input.family, name: input.name }
    printView(
      args,
      io,
      { ...result, version: input.version.toString(), epoch: input.epoch.toString() },
      (v) => `${recordLine(v, what)}\n`,
    )
    return 0
  },
}

/** Every field checked before the node is asked anything: a bad line signs nothing. */
async function artifactInput(lib: Artifacts, args: ParsedArgs, io: Io): Promise<ArtifactInput> {
  const command = args.command
  const [scopeText, familyText, name] = args.positionals as [string, string, string]
  const scope = checkScopeArg(lib, command, '<scope>', scopeText)
  const family = checkField(command, '<family>', () => lib.checkFamily(familyText))
  checkField(command, '<name>', () => lib.checkText('name', name, 1, lib.MAX_NAME_BYTES))
  const version = parseU64(args, 'version', true)!
  const epoch = parseU64(args, 'epoch', true)!
  const base = parseU64(args, 'base', false)
  const expires = stringOption(args, 'expires')
  if (expires !== undefined) parseDuration(command, '--expires', expires)
  const fields = { scope, family, name, version, epoch, ...(base !== undefined ? { base } : {}) }
  if (flagOption(args, 'tombstone')) {
    if (stringOption(args, 'file') !== undefined) throw new UsageError(command, '--tombstone takes no --file')
    return { ...fields, tombstone: true }
  }
  const file = stringOption(args, 'file')
  if (file === undefined) throw new UsageError(command, '--file <file> is required (or --tombstone)')
  const content = await readContent(file, io)
  if (content.length > lib.MAX_INLINE_BYTES)
    throw new ContentTooLargeError(command, file, content.length, lib.MAX_INLINE_BYTES)
  return { ...fields, content }
}

function checkField<T>(command: string, name: string, check: () => T): T {
  try {
    return check()
  } catch (err) {
    // The codec's details start with its field name ("family: expected ..."): the argument names it here.
    const text = (err as { detail?: string }).detail ?? (err as Error).message
    const detail = text.replace(/^[a-zA-Z]+: /, '')
    throw new UsageError(command, `${name}: ${detail}`)
  }
}

async function readContent(file: string, io: Io): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(resolve(io.cwd, file)))
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new CliError(`${file}: ${code === 'ENOENT' ? 'no such file' : (code ?? (err as Error).message)}`)
  }
}
