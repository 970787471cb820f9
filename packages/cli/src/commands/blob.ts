import { resolve } from 'node:path'
import { flagOption, listOption, type ParsedArgs, stringOption } from '../args.js'
import { UsageError } from '../errors.js'
import type { Io } from '../io.js'
import { parseChoice, parseInteger } from '../values.js'
import { type Command, dataDirOption, jsonOption, printView } from './command.js'
import { ask } from './remote.js'

const ACTIONS = ['put', 'get', 'stat', 'pin', 'unpin', 'want'] as const
type Action = (typeof ACTIONS)[number]

// biome-ignore lint/suspicious/noExplicitAny: each action prints its own JSON result field by field
type View = any

export const blob: Command = {
  spec: {
    name: 'blob',
    summary: 'Store, fetch, inspect and pin blobs (evidence too large for a record) on the running node.',
    positionals: ['action'],
    optionalPositionals: ['file|id'],
    options: {
      'data-dir': dataDirOption,
      out: { type: 'string', short: 'o', value: '<file>', description: 'get, want: the file to write' },
      from: {
        type: 'string',
        multiple: true,
        value: '<peer-id>',
        description: 'get, pin: ask this peer first (the one the referencing record came from)',
      },
      'chunk-size': {
        type: 'string',
        value: '<bytes>',
        description: 'put: bytes per chunk, a power of two from 16 KiB to 1 MiB (default 256 KiB)',
      },
      private: { type: 'boolean', description: 'put: peers may not fetch it' },
      id: { type: 'string', multiple: true, value: '<blob>', description: 'want: a blob to ask for' },
      json: jsonOption,
    },
    details: `
Actions:
  put <file>          store a file as a blob (pinned); prints its id
  get <id> --out F    read a blob into F, fetching missing chunks from peers, each verified
  stat <id>           what is held here: manifest, chunks held, pinned, shareable
  pin <id>            keep the blob's chunks (held now or fetched later) out of eviction
  unpin <id>          let them be evicted again, least recently used first (--blob-budget)
  want --out F        write the chunks this node lacks for the blobs it was asked for (--id, and
                      every read that could not complete), for 'provsync export --answer F' on a
                      node that holds them; importing that bundle here completes the reads
Paths are read and written by the node. Progress shows on a terminal for large transfers.
Exit status: 0 done, 2 bad arguments, 3 no node running, 4 the node refused or could not complete
it (no peer holds a chunk, blob not held, unreadable file), 5 local failure.`,
  },
  async run(args, io) {
    const action = parseChoice(args.command, '<action>', args.positionals[0]!, ACTIONS)
    const target = args.positionals[1]
    if (action !== 'want' && target === undefined)
      throw new UsageError(args.command, `${action} needs <${action === 'put' ? 'file' : 'id'}>`)
    if (action === 'want' && target !== undefined)
      throw new UsageError(args.command, `want takes blobs as --id <blob>, not '${target}'`)
    const view = await ask<View>(args, io, `blob.${action}`, paramsOf(action, args, io, target))
    printView(args, io, view, (v) => textOf(action, v))
    return 0
  },
}

export function blobId(args: ParsedArgs, text: string): string {
  const hex = text.trim().toLowerCase()
  if (!/^[0-9a-f]{64}$/.test(hex))
    throw new UsageError(args.command, `'${text}' is not a blob id (64 hex digits)`)
  return hex
}

function out(args: ParsedArgs, io: Io, action: Action): string {
  const value = stringOption(args, 'out')
  if (value === undefined) throw new UsageError(args.command, `${action} needs --out <file>`)
  return resolve(io.cwd, value)
}

function paramsOf(action: Action, args: ParsedArgs, io: Io, target: string | undefined): object {
  const from = listOption(args, 'from')
  switch (action) {
    case 'put': {
      const chunkSize = stringOption(args, 'chunk-size')
      return {
        file: resolve(io.cwd, target!),
        shareable: !flagOption(args, 'private'),
        ...(chunkSize !== undefined
          ? { chunkSize: parseInteger(args.command, '--chunk-size', chunkSize, 1, 2 ** 30) }
          : {}),
      }
    }
    case 'get':
      return { id: blobId(args, target!), out: out(args, io, action), from }
    case 'pin':
      return { id: blobId(args, target!), from }
    case 'want':
      return { ids: listOption(args, 'id').map((id) => blobId(args, id)), out: out(args, io, action) }
    default:
      return { id: blobId(args, target!) }
  }
}

function textOf(action: Action, v: View): string {
  switch (action) {
    case 'put':
      return `${v.id}\n  ${v.size} bytes in ${v.chunks} chunks of ${v.chunkSize}\n`
    case 'get':
      return `wrote ${v.size} bytes of ${v.id} to ${v.out}\n`
    case 'stat':
      return v.manifest
        ? `${v.id}\n  ${v.size} bytes, ${v.held}/${v.chunks} chunks held, ${v.pinned ? 'pinned' : 'not pinned'}, ${v.shareable ? 'shareable' : 'private'}${v.local ? ', stored here' : ''}\n`
        : `${v.id}\n  not held here (no manifest)\n`
    case 'pin':
      return `pinned ${v.id} (${v.held}/${v.chunks} chunks held)\n`
    case 'unpin':
      return `unpinned ${v.id}\n`
    case 'want':
      return `wrote ${v.out}: ${v.blobs} blobs, ${v.chunks} chunks${v.manifests > 0 ? `, ${v.manifests} whole (manifest not held)` : ''}\n`
  }
}
