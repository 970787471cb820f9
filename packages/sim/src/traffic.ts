/**
 * Bytes each node received, by libp2p protocol: reconciliation, record fetches, gossipsub and
 * identify, counted on the negotiated streams (payload above the muxer). Plugged into a node as
 * its libp2p `metrics`, the one hook libp2p offers on every stream it opens or accepts.
 */
import type { Metrics, Stream } from '@libp2p/interface'

/** Received bytes by protocol id, for one node or summed over several. */
export type ProtocolBytes = Record<string, number>

export interface ProtocolTraffic {
  /** A libp2p `metrics` factory counting this node's received bytes per protocol. */
  metrics(): Metrics
  /** Bytes received so far, by protocol. */
  received(): ProtocolBytes
}

/** Stands in for every metric libp2p's components register: they are not needed here. */
const IGNORED: Record<string, (...args: unknown[]) => unknown> = {
  update: () => {},
  increment: () => {},
  decrement: () => {},
  reset: () => {},
  observe: () => {},
  timer: () => () => {},
}

export function createProtocolTraffic(): ProtocolTraffic {
  const received = new Map<string, number>()
  const track = (stream: Stream): void => {
    const protocol = stream.protocol
    if (protocol === undefined || protocol === '') return
    // Wraps dispatch rather than listening, as @libp2p/prometheus-metrics does (its _track): libp2p
    // calls trackProtocolStream before the protocol handler runs, and AbstractMessageStream hands
    // its read buffer to whichever 'message' listeners exist once there is one, so a listener of
    // the counter's would take the bytes a handler that reads after an await never sees
    // (traffic.test.ts: with a listener here its late reader gets nothing). The stream is libp2p's
    // muxed stream itself; nothing public reports its received bytes, and the registrar's
    // middleware (the other public hook) could only hand handlers a whole proxy stream instead.
    const dispatch = stream.dispatchEvent.bind(stream)
    stream.dispatchEvent = (event: Event) => {
      if (event.type === 'message') {
        const data = (event as Event & { data: { byteLength: number } }).data
        received.set(protocol, (received.get(protocol) ?? 0) + data.byteLength)
      }
      return dispatch(event)
    }
  }
  const register = (): never => IGNORED as never
  const metrics: Metrics = {
    trackMultiaddrConnection: () => {},
    trackProtocolStream: track,
    registerMetric: register,
    registerMetricGroup: register,
    registerCounter: register,
    registerCounterGroup: register,
    registerHistogram: register,
    registerHistogramGroup: register,
    registerSummary: register,
    registerSummaryGroup: register,
    createTrace: () => undefined,
    traceFunction: ((_name: string, fn: unknown) => fn) as Metrics['traceFunction'],
  }
  return {
    metrics: () => metrics,
    received: () => Object.fromEntries(received),
  }
}

/** Sums per-node protocol bytes. */
export function sumProtocolBytes(all: readonly ProtocolBytes[]): ProtocolBytes {
  const total: ProtocolBytes = {}
  for (const bytes of all) {
    for (const [protocol, n] of Object.entries(bytes)) total[protocol] = (total[protocol] ?? 0) + n
  }
  return total
}
