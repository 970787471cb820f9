import { InvalidRequestError, type Params } from '../control/params.js'

/** A blob id param: 64 hex digits. */
export function blobIdParam(params: Params, name = 'id'): Uint8Array {
  const value = params[name]
  if (typeof value !== 'string' || !/^[0-9a-f]{64}$/.test(value)) {
    throw new InvalidRequestError(`${name} must be a blob id (64 lowercase hex digits)`)
  }
  return Uint8Array.from(Buffer.from(value, 'hex'))
}

/** Peer ids to ask first (`--from`). */
export function peerList(params: Params): string[] {
  const value = params.from
  if (value === undefined) return []
  if (
    !Array.isArray(value) ||
    value.length > 64 ||
    !value.every((p) => typeof p === 'string' && p.length < 128)
  ) {
    throw new InvalidRequestError('from must be an array of peer ids')
  }
  return value as string[]
}
