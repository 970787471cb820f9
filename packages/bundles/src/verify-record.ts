import { type decodeRecord, verifyAssertion, verifyRevocation, verifySupersession } from '@provsync/crdt'

/** Verifies a decoded record's signature on this thread. */
export function verifySignature(any: ReturnType<typeof decodeRecord>, networkId: string): boolean {
  return any.type === 'assertion'
    ? verifyAssertion(any.record, networkId)
    : any.type === 'supersession'
      ? verifySupersession(any.record, networkId)
      : verifyRevocation(any.record, networkId)
}
