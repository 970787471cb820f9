import { resolve } from 'node:path'
import { listOption, stringOption } from '../args.js'
import type { exportBundleMethod } from '../blobs/bundles.js'
import { UsageError } from '../errors.js'
import { parseChoice, parseInteger } from '../values.js'
import { type Command, dataDirOption, jsonOption, printView } from './command.js'
import { ask } from './remote.js'

type ExportView = Awaited<ReturnType<typeof exportBundleMethod>>

const STORES = ['revocations', 'supersessions', 'assertions'] as const

export const exportCommand: Command = {
  spec: {
    name: 'export',
    summary:
      'Write a signed bundle of this node’s records, ledger entries and blobs, for an air-gapped node.',
    positionals: ['file'],
    options: {
      'data-dir': dataDirOption,
      since: {
        type: 'string',
        value: '<seq>',
        description: 'only ledger entries after this sequence number (default 0)',
      },
      blobs: {
        type: 'string',
        value: '<pinned|referenced>',
        description: 'carry the chunks of pinned blobs, or of every blob held (default: manifests only)',
      },
      store: {
        type: 'string',
        multiple: true,
        value: '<store>',
        description: `only these stores (${STORES.join(', ')})`,
      },
      key: {
        type: 'string',
        short: 'k',
        value: '<file>',
        description: 'sign with this operator key (default: the node’s own key)',
      },
      answer: {
        type: 'string',
        value: '<want-file>',
        description: 'answer a want file (provsync blob want): a bundle of exactly the chunks it asks for',
      },
      json: jsonOption,
    },
    details: `
The bundle (<file>, which must not exist) holds a DSSE envelope signing a manifest of its parts:
blob manifests, blob chunks, the records of each store and the revocation ledger entries. Import it
with 'provsync import <file>' on a node that trusts the signing key (an operator key of its trust
bundle, or one named with --trust-key). With --answer, the bundle carries only the chunks the want
file lists that this node holds. The node writes the file; paths are resolved here.
Exit status: 0 written, 2 bad arguments, 3 no node running, 4 the node could not write it (file
exists, bad want file, unreadable key), 5 local failure.`,
  },
  async run(args, io) {
    const command = args.command
    const since = stringOption(args, 'since')
    const blobs = stringOption(args, 'blobs')
    const key = stringOption(args, 'key')
    const answer = stringOption(args, 'answer')
    const stores = listOption(args, 'store').map((s) => parseChoice(command, '--store', s, STORES))
    if (answer !== undefined && (blobs !== undefined || since !== undefined || stores.length > 0))
      throw new UsageError(command, '--answer carries chunks only; it takes no --blobs, --since or --store')
    const view = await ask<ExportView>(args, io, 'export', {
      out: resolve(io.cwd, args.positionals[0]!),
      ...(answer !== undefined ? { answer: resolve(io.cwd, answer) } : {}),
      ...(blobs !== undefined
        ? { blobs: parseChoice(command, '--blobs', blobs, ['pinned', 'referenced'] as const) }
        : {}),
      ...(since !== undefined
        ? { sinceLedger: parseInteger(command, '--since', since, 0, Number.MAX_SAFE_INTEGER) }
        : {}),
      ...(stores.length > 0 ? { stores } : {}),
      ...(key !== undefined ? { key: resolve(io.cwd, key) } : {}),
    })
    printView(args, io, view, formatExport)
    return 0
  },
}

function formatExport(v: ExportView): string {
  const parts = v.parts.map(
    (p) =>
      `  ${p.kind}${p.store ? ` ${p.store}` : ''}: ${p.count ?? ''}${p.count !== null ? ' entries, ' : ''}${p.size} bytes`,
  )
  return `wrote ${v.out}: bundle ${v.bundleHash} (${v.density}), ${v.bytes} bytes, signed by ${v.signer}\n${parts.join('\n')}\n`
}
