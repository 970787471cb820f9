import { createReconciler, createResponder, type MerkleTree, type ReconcileOptions } from '@provsync/merkle'
import { hexResult } from './helpers.js'

export interface SessionRun {
  localOnly: string[]
  remoteOnly: string[]
  differing: string[]
  rounds: number
  bytes: number
  /** The responder saw the session through and released its snapshot. */
  responderDone: boolean
}

/** Runs a whole session between two trees in memory; `tamper` may rewrite each response. */
export function reconcile(
  initiator: MerkleTree,
  responder: MerkleTree,
  options: ReconcileOptions = {},
  tamper: (response: Uint8Array, round: number) => Uint8Array = (r) => r,
): SessionRun {
  const reconciler = createReconciler(initiator, options)
  const peer = createResponder(responder, options)
  let round = 0
  for (let request = reconciler.next(); request !== undefined; request = reconciler.next()) {
    reconciler.receive(tamper(peer.respond(request), round++))
    if (round > 10_000) throw new Error('session did not end')
  }
  return {
    ...hexResult(reconciler.result()),
    rounds: reconciler.stats.rounds,
    bytes: reconciler.stats.bytesSent + reconciler.stats.bytesReceived,
    responderDone: peer.done,
  }
}
