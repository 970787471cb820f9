import { BundleFormatError } from './errors.js'

interface ExportedLedgerShape {
  format: string
  version: number
  networkId: string
  entries: { seq: number }[]
}

/** Keeps the entries of a `ledger.export()` with seq > sinceLedger (same JSON format). */
export function filterLedger(exported: Uint8Array, sinceLedger: number): Uint8Array {
  const ledger = JSON.parse(new TextDecoder().decode(exported)) as ExportedLedgerShape
  ledger.entries = ledger.entries.filter((entry) => entry.seq > sinceLedger)
  return new TextEncoder().encode(JSON.stringify(ledger))
}

/** The number of entries in a ledger part, checking its shape; the node verifies the rest. */
export function ledgerEntryCount(bytes: Uint8Array, networkId: string): number {
  let ledger: ExportedLedgerShape
  try {
    ledger = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as ExportedLedgerShape
  } catch {
    throw new BundleFormatError('ledger part is not JSON')
  }
  if (ledger?.format !== 'provsync-ledger' || ledger.version !== 1 || !Array.isArray(ledger.entries)) {
    throw new BundleFormatError('ledger part is not a provsync ledger export, version 1')
  }
  if (ledger.networkId !== networkId) throw new BundleFormatError('ledger part is for another network')
  return ledger.entries.length
}
