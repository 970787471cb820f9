/** Every refusal of a bundle or envelope; `reason` is a stable machine-readable cause. */
export class BundleError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message)
    this.name = new.target.name
  }
}

/** The envelope is not a DSSE JSON envelope (or not the payload type expected). */
export class EnvelopeFormatError extends BundleError {
  constructor(readonly problem: string) {
    super('envelope-format', `not a DSSE envelope: ${problem}`)
  }
}

/** Fewer distinct trusted keys than the threshold produced a valid signature. */
export class SignatureThresholdError extends BundleError {
  constructor(
    readonly valid: number,
    readonly threshold: number,
    readonly keyids: string[],
  ) {
    super(
      'untrusted-signature',
      `envelope has ${valid} valid signature(s) by trusted keys, ${threshold} required` +
        ` (signatures by: ${keyids.length === 0 ? 'none' : keyids.join(', ')})`,
    )
  }
}

/** The bundle file's layout or signed manifest is malformed. */
export class BundleFormatError extends BundleError {
  constructor(readonly problem: string) {
    super('bundle-format', `not a provsync bundle: ${problem}`)
  }
}

/** A part's bytes differ from what the signed manifest says. */
export class PartMismatchError extends BundleError {
  constructor(
    readonly part: number,
    readonly field: 'size' | 'blake3',
    readonly expected: string,
    readonly actual: string,
  ) {
    super('part-mismatch', `part ${part}: ${field} is ${actual}, the signed manifest says ${expected}`)
  }
}

/** The file ends before the last part the manifest lists. */
export class MissingPartError extends BundleError {
  constructor(
    readonly part: number,
    readonly missingBytes: number,
  ) {
    super('missing-part', `part ${part} is missing or truncated (${missingBytes} byte(s) short)`)
  }
}

/** Bytes follow the last part the manifest lists. */
export class ExtraDataError extends BundleError {
  constructor(readonly extraBytes: number) {
    super('extra-data', `${extraBytes} byte(s) follow the last part of the signed manifest`)
  }
}

/** A record inside a part does not decode or verify. */
export class BadRecordError extends BundleError {
  constructor(
    readonly part: number,
    readonly index: number,
    readonly problem: string,
  ) {
    super('bad-record', `part ${part}, record ${index}: ${problem}`)
  }
}

/** The bundle belongs to another network. */
export class WrongNetworkBundleError extends BundleError {
  constructor(
    readonly bundleNetwork: string,
    readonly nodeNetwork: string,
  ) {
    super(
      'wrong-network',
      `bundle is for network ${JSON.stringify(bundleNetwork)}, not ${JSON.stringify(nodeNetwork)}`,
    )
  }
}

/** The bundle was already imported, or is older than the last one imported from its signer. */
export class ReplayedBundleError extends BundleError {
  constructor(
    readonly bundleHash: string,
    readonly signer: string,
    readonly kind: 'already-imported' | 'older',
    readonly lastSequence?: string,
  ) {
    super(
      'replayed',
      kind === 'already-imported'
        ? `bundle ${bundleHash} was already imported`
        : `bundle ${bundleHash} is not newer than the last bundle imported from ${signer} (${lastSequence})`,
    )
  }
}

/** A part kind this importer does not know (e.g. blob parts before blobs are supported). */
export class UnsupportedPartError extends BundleError {
  constructor(
    readonly part: number,
    readonly kind: string,
  ) {
    super('unsupported-part', `part ${part}: kind ${JSON.stringify(kind)} is not supported by this importer`)
  }
}

/** The node refused the bundle's ledger entries (e.g. an operator outside its trust bundle). */
export class LedgerRefusedError extends BundleError {
  constructor(override readonly cause: Error) {
    super('ledger-refused', `ledger entries refused: ${cause.message}`)
  }
}

/** The file changed between the verifying pass and the applying pass. */
export class BundleChangedError extends BundleError {
  constructor(
    readonly part: number,
    readonly batch: number,
  ) {
    super('changed', `part ${part}, batch ${batch} changed while the bundle was being imported`)
  }
}

/** A blob manifest or chunk inside a blob part does not decode, belong or match its manifest. */
export class BadBlobError extends BundleError {
  constructor(
    readonly part: number,
    readonly index: number,
    readonly problem: string,
  ) {
    super('bad-blob', `part ${part}, entry ${index}: ${problem}`)
  }
}

/**
 * An earlier import stopped part way (a failure or a crash after its first commit); it must be
 * completed (`resumeImport`, or importing the same bundle again) before another bundle is imported.
 */
export class PendingImportError extends BundleError {
  constructor(
    readonly bundleHash: string,
    readonly path: string,
  ) {
    super(
      'pending-import',
      `the import of bundle ${bundleHash} (${path}) did not finish; import that bundle again to complete it first`,
    )
  }
}
