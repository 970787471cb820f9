/** Base class of every failure raised by @provsync/blobs. */
export class BlobError extends Error {
  static override name = 'BlobError'
  override name = 'BlobError'
}

/** A chunk size that is not a power of two between 16 KiB and 1 MiB. */
export class InvalidChunkSizeError extends BlobError {
  static override name = 'InvalidChunkSizeError'
  override name = 'InvalidChunkSizeError'
  constructor(readonly chunkSize: number) {
    super(`chunk size ${chunkSize} is not a power of two from 16 KiB to 1 MiB`)
  }
}

/** Bytes that should decode as a manifest (or a blob id) do not. */
export class MalformedManifestError extends BlobError {
  static override name = 'MalformedManifestError'
  override name = 'MalformedManifestError'
}

/** The blob (its manifest) is neither held here nor obtainable from any peer tried. */
export class BlobNotFoundError extends BlobError {
  static override name = 'BlobNotFoundError'
  override name = 'BlobNotFoundError'
  constructor(
    readonly blobId: string,
    /** What each peer tried answered, by peer id. */
    readonly attempts: Readonly<Record<string, string>> = {},
  ) {
    super(`blob ${blobId} is not held here${describe(attempts)}`)
  }
}

/** Chunks of a known blob that no peer tried could deliver intact. */
export class ChunkUnavailableError extends BlobError {
  static override name = 'ChunkUnavailableError'
  override name = 'ChunkUnavailableError'
  constructor(
    readonly blobId: string,
    readonly index: number,
    readonly attempts: Readonly<Record<string, string>> = {},
  ) {
    super(`chunk ${index} of blob ${blobId} is not held here${describe(attempts)}`)
  }
}

/** A chunk range or byte range outside the blob. */
export class BlobRangeError extends BlobError {
  static override name = 'BlobRangeError'
  override name = 'BlobRangeError'
  constructor(
    readonly blobId: string,
    readonly what: string,
  ) {
    super(`blob ${blobId}: ${what}`)
  }
}

/** A blob larger than the node accepts (`maxBlobBytes`). */
export class BlobTooLargeError extends BlobError {
  static override name = 'BlobTooLargeError'
  override name = 'BlobTooLargeError'
  constructor(
    readonly size: number,
    readonly maxBytes: number,
  ) {
    super(`blob of ${size} bytes exceeds the ${maxBytes}-byte limit`)
  }
}

/** The store was used after `close()`. */
export class BlobStoreClosedError extends BlobError {
  static override name = 'BlobStoreClosedError'
  override name = 'BlobStoreClosedError'
  constructor() {
    super('the blob store is closed')
  }
}

function describe(attempts: Readonly<Record<string, string>>): string {
  const entries = Object.entries(attempts)
  if (entries.length === 0) return ' and no peer was asked'
  return ` and no peer delivered it: ${entries.map(([p, e]) => `${p}: ${e}`).join('; ')}`
}

/** The serving peer refused a request with a typed refusal. */
export class BlobRefusedError extends BlobError {
  static override name = 'BlobRefusedError'
  override name = 'BlobRefusedError'
  constructor(
    readonly code: string,
    readonly peer: string,
    message: string,
  ) {
    super(`${peer} refused (${code}): ${message}`)
  }
}

/** A peer broke the blob protocol; `reason` is the offence it is blamed for. */
export class BlobProtocolError extends BlobError {
  static override name = 'BlobProtocolError'
  override name = 'BlobProtocolError'
  constructor(
    readonly reason: string,
    readonly peer: string,
    message: string,
  ) {
    super(`${peer}: ${message}`)
  }
}
