import { access, constants } from 'node:fs/promises'
import { resolve } from 'node:path'
import { listOption } from '../args.js'
import type { importBundleMethod } from '../blobs/bundles.js'
import { CliError, ExitCode } from '../errors.js'
import { toHex } from '../hex.js'
import { loadTrust } from '../trust.js'
import { type Command, dataDirOption, jsonOption, printView } from './command.js'
import { ask } from './remote.js'

type ImportView = Awaited<ReturnType<typeof importBundleMethod>>

export const importCommand: Command = {
  spec: {
    name: 'import',
    summary: 'Verify a signed bundle and apply it whole: records, ledger entries and blobs.',
    positionals: ['file'],
    options: {
      'data-dir': dataDirOption,
      'trust-key': {
        type: 'string',
        multiple: true,
        value: '<file|hex>',
        description: 'also accept bundles signed by this key (default: the node’s operator keys)',
      },
      json: jsonOption,
    },
    details: `
The node checks the envelope's signature against its operator keys and the --trust-key keys,
every part against the signed manifest, every record as if pulled from a peer and every blob chunk
against its manifest, before anything is applied; then it stores the blobs, imports the ledger
entries and applies the records, with provenance "imported from bundle <hash>, signed by <key>".
A bundle imported before, or older than the last one from the same key, is refused as replayed.
An import that stopped part way (a crash) blocks other imports until the same bundle is imported
again, which completes it.
Exit status: 0 imported; 2 bad arguments; 3 no node running; 4 refused, nothing applied, with the
reason in one line (untrusted-signature, part-mismatch, missing-part, extra-data, bad-record,
bad-blob, wrong-network, replayed, ledger-refused, pending-import, ...); 5 the file cannot be read.`,
  },
  async run(args, io) {
    const file = resolve(io.cwd, args.positionals[0]!)
    await access(file, constants.R_OK).catch((err: NodeJS.ErrnoException) => {
      throw new CliError(`cannot read ${file}: ${err.code ?? err.message}`, ExitCode.failure)
    })
    const keys = listOption(args, 'trust-key')
    const trustKeys =
      keys.length === 0
        ? []
        : (await loadTrust(keys.map((k) => (/^[0-9a-fA-F]{64}$/.test(k) ? k : resolve(io.cwd, k))))).map(
            toHex,
          )
    const view = await ask<ImportView>(args, io, 'import', { file, trustKeys })
    printView(args, io, view, formatImport)
    return 0
  },
}

function formatImport(v: ImportView): string {
  const records = Object.entries(v.records)
    .map(
      ([store, c]) =>
        `  ${store}: ${c?.applied ?? 0} applied, ${c?.duplicate ?? 0} duplicate, ${c?.superseded ?? 0} superseded, ${c?.refused ?? 0} refused`,
    )
    .join('\n')
  return `${v.provenance}${v.resumed ? ' (completed an interrupted import)' : ''}
${records}
  ledger: ${v.ledger.entries} entries, ${v.ledger.added} added
  blobs: ${v.blobs.manifests} manifests, ${v.blobs.chunks} chunks
`
}
