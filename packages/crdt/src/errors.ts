/** Base class of every failure this package reports, so callers can catch them all at once. */
export class CrdtError extends Error {
  constructor(message: string) {
    super(message)
    this.name = new.target.name
  }
}

/** Why a record was refused; the same words appear in {@link ApplyOutcome.reason}. */
export type RefusalReason =
  | 'malformed'
  | 'bad-signature'
  | 'oversized'
  | 'far-future'
  | 'revoked-signer'
  | 'untrusted-operator'
  | 'wrong-network'
  | 'unknown-kind'
  | 'invalid-run'

/** A record (or the fields for one) was refused; `reason` says which rule it broke. */
export class RecordRefusedError extends CrdtError {
  readonly reason: RefusalReason
  constructor(reason: RefusalReason, message: string) {
    super(message)
    this.reason = reason
  }
}

/** The bytes do not hold a well-formed record of the expected type. */
export class MalformedRecordError extends RecordRefusedError {
  constructor(message: string) {
    super('malformed', message)
  }
}

/** A field or the whole record is larger than its bound. */
export class OversizedFieldError extends RecordRefusedError {
  readonly field: string
  readonly size: number
  readonly limit: number
  constructor(field: string, size: number, limit: number) {
    super('oversized', `${field} is ${size} bytes, limit ${limit}`)
    this.field = field
    this.size = size
    this.limit = limit
  }
}

/** An unknown record type tag, version, or kind byte. */
export class UnknownKindError extends RecordRefusedError {
  constructor(message: string) {
    super('unknown-kind', message)
  }
}

/** A run id that is not an unsigned 64-bit bigint. */
export class InvalidRunError extends RecordRefusedError {
  readonly run: unknown
  constructor(run: unknown) {
    super('invalid-run', `run id must be a bigint in [0, 2^64), got ${describe(run)}`)
    this.run = run
  }
}

/** The signature does not verify for the record's signer and this network. */
export class BadSignatureError extends RecordRefusedError {
  constructor(message = 'signature does not verify') {
    super('bad-signature', message)
  }
}

/** The record was made for another network id. */
export class WrongNetworkError extends RecordRefusedError {
  constructor() {
    super('wrong-network', 'record belongs to another network')
  }
}

/** The record's HLC is further ahead of the local wall clock than the drift guard allows. */
export class FarFutureError extends RecordRefusedError {
  readonly driftMs: number
  constructor(driftMs: number, maxDriftMs: number) {
    super('far-future', `record HLC is ${driftMs} ms ahead of the local clock (limit ${maxDriftMs} ms)`)
    this.driftMs = driftMs
  }
}

/** The record's signer is revoked on this node. */
export class RevokedSignerError extends RecordRefusedError {
  constructor(signerHex: string) {
    super('revoked-signer', `signer ${signerHex} is revoked`)
  }
}

/** A revocation signed by a key that is not in this node's trust bundle. */
export class UntrustedOperatorError extends RecordRefusedError {
  constructor(operatorHex: string) {
    super('untrusted-operator', `operator ${operatorHex} is not in the trust bundle`)
  }
}

/** An argument given to the API is out of range or of the wrong shape. */
export class InvalidArgumentError extends CrdtError {
  readonly argument: string
  constructor(argument: string, message: string) {
    super(`${argument}: ${message}`)
    this.argument = argument
  }
}

/** The database was written by a schema this version cannot read. */
export class SchemaVersionError extends CrdtError {
  readonly found: number
  readonly supported: number
  constructor(found: number, supported: number) {
    super(`database schema version ${found} is newer than the supported version ${supported}`)
    this.found = found
    this.supported = supported
  }
}

/** The node state was used after `close()`. */
export class StateClosedError extends CrdtError {
  constructor() {
    super('node state is closed')
  }
}

/** A ledger export could not be read or one of its revocation records does not verify. */
export class LedgerImportError extends CrdtError {}

function describe(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`
  if (typeof value === 'string') return JSON.stringify(value)
  return String(value)
}
