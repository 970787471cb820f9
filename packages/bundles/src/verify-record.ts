import {
  decodeRecord,
  type StoreName,
  verifyAssertion,
  verifyRevocation,
  verifySupersession,
} from '@provsync/crdt'
import { BadRecordError } from './errors.js'

/** Verifies a decoded record's signature on this thread. */
export function verifySignature(any: ReturnType<typeof decodeRecord>, networkId: string): boolean {
  return any.type === 'assertion'
    ? verifyAssertion(any.record, networkId)
    : any.type === 'supersession'
      ? verifySupersession(any.record, networkId)
      : verifyRevocation(any.record, networkId)
}

const STORE_TYPE: Partial<Record<StoreName, string>> = {
  revocations: 'revocation',
  supersessions: 'supersession',
  assertions: 'assertion',
}

/**
 * Decodes a record, checks it belongs in `store` and verifies its signature on this thread: a
 * `BadRecordError` naming part, index and problem otherwise.
 */
export function checkRecord(
  bytes: Uint8Array,
  store: StoreName,
  networkId: string,
  part: number,
  index: number,
): void {
  let any: ReturnType<typeof decodeRecord>
  try {
    any = decodeRecord(bytes, networkId)
  } catch (error) {
    throw new BadRecordError(part, index, (error as Error).message)
  }
  if (any.type !== STORE_TYPE[store])
    throw new BadRecordError(part, index, `a ${any.type} in the ${store} part`)
  if (!verifySignature(any, networkId)) throw new BadRecordError(part, index, 'signature does not verify')
}
