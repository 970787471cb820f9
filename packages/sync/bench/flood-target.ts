/**
 * The target of the read-flood soak (`npm run bench -- soak`): a real provsync node in its own
 * process, so its memory is its own. It loads `RECORDS` signed assertions, listens on 127.0.0.1 and
 * prints one JSON line `{ ready, peerId, addr, trustHash, keys }` (keys: hex leaf keys of
 * `assertions`, what an attacker asks for); then one JSON line per offence and block it records.
 * Started by `read-flood.ts` with the operator seed in argv[2] (hex); it stops on SIGTERM.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type Assertion,
  encodeAssertion,
  fromHex,
  signAssertion,
  signerFromSeed,
  toHex,
} from '@provsync/crdt'
import { createNode, trustBundleHash } from '@provsync/sync'

export const FLOOD_NETWORK = 'provsync-soak'
const RECORDS = 4096
const KEYS_ASKED = 1024

const operator = signerFromSeed(fromHex(process.argv[2] ?? ''))
const dataDir = mkdtempSync(join(tmpdir(), 'provsync-flood-target-'))
const node = await createNode({
  dataDir,
  networkId: FLOOD_NETWORK,
  trust: [operator.publicKey],
  listen: ['/ip4/127.0.0.1/tcp/0'],
  sync: {
    antiEntropy: false,
    ...(process.env.FLOOD_BUFFERED_BYTES
      ? { maxBufferedBytesPerPeer: Number(process.env.FLOOD_BUFFERED_BYTES) }
      : {}),
  },
  store: { verifyThreads: 1 },
  // FLOOD_WINDOW: the yamux window before the fix (16 MiB, yamux's default) for a before/after.
  ...(process.env.FLOOD_WINDOW ? { maxStreamWindowBytes: Number(process.env.FLOOD_WINDOW) } : {}),
})
const records: Uint8Array[] = []
const wallMs = Date.now()
for (let i = 0; i < RECORDS; i++) {
  const record: Assertion = signAssertion(
    {
      coordinate: { volume: 'soak', destination: 'flood', origin: `origin-${i}` },
      run: 1n,
      hlc: { wallMs, counter: i },
      method: 'read-flood-soak',
    },
    operator,
    FLOOD_NETWORK,
  )
  records.push(encodeAssertion(record, FLOOD_NETWORK))
}
await node.state.apply('assertions', records, { from: operator.publicKey })
const keys = [...node.state.tree('assertions').leaves({ limit: KEYS_ASKED })].map((l) => toHex(l.key))
const emit = (line: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ at: Date.now(), ...line })}\n`)
}
node.sync.addEventListener('peer:offence', (evt) =>
  emit({ offence: evt.detail.reason, detail: evt.detail.detail.slice(0, 120) }),
)
node.sync.addEventListener('peer:blocked', () => emit({ blocked: true }))
emit({
  ready: true,
  peerId: node.peerId.toString(),
  addr: node.multiaddrs()[0]!.toString(),
  trustHash: toHex(trustBundleHash([operator.publicKey])),
  keys,
})
if (process.env.FLOOD_VERBOSE) {
  setInterval(() => {
    const m = process.memoryUsage()
    const mib = (n: number) => Math.round(n / 2 ** 20)
    emit({
      rss: mib(m.rss),
      heapTotal: mib(m.heapTotal),
      heapUsed: mib(m.heapUsed),
      external: mib(m.external),
      arrayBuffers: mib(m.arrayBuffers),
    })
  }, 250).unref()
}
process.once('SIGTERM', () => {
  void node.stop().finally(() => {
    rmSync(dataDir, { recursive: true, force: true })
    process.exit(0)
  })
})
