/**
 * cli: what the `provsync` command adds on top of the node, each figure next to a baseline
 * measured in the same run.
 *  - control channel: `status` requests/s over the Unix socket (NDJSON, a new connection per
 *    request, as the CLI does) vs. a bare Unix-socket echo doing the same connect/write/read.
 *  - startup: `provsync status` against a directory with no node (parse, load, fail, exit) vs.
 *    `node -e 0`, the floor of any Node command.
 *  - verify: records/s of `verify` (tree recompute + every leaf checked against its record) vs.
 *    merkle's tree recompute alone over the same stores.
 */
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { callNode, startDaemon, verify } from '@provsync/cli'
import { encodeAssertion, generateSigner, STORE_NAMES, signAssertion } from '@provsync/crdt'
import { rateAsync, runSuite, timeMs } from '../../../bench/lib.js'

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url))

function echoOnce(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path)
    socket.once('connect', () => socket.write('{"id":1,"method":"status"}\n'))
    socket.once('data', () => {
      socket.destroy()
      resolve()
    })
    socket.once('error', reject)
  })
}

await runSuite('cli', async (ctx) => {
  const dir = await mkdtemp(join(tmpdir(), 'provsync-bench-cli-'))
  const daemon = await startDaemon({
    dataDir: join(dir, 'node'),
    networkId: 'bench',
    listen: ['/ip4/127.0.0.1/tcp/0'],
  })
  try {
    const minMs = ctx.quick ? 300 : 2000

    // Control channel round trips vs. a bare socket echo.
    const echoPath = join(dir, 'echo.sock')
    const echo = createServer((s) => s.on('data', (d) => s.write(d)))
    await new Promise<void>((r) => echo.listen(echoPath, () => r()))
    const raw = await rateAsync(() => echoOnce(echoPath), { minMs })
    const control = await rateAsync(async () => void (await callNode(join(dir, 'node'), 'status', {})), {
      minMs,
    })
    echo.close()
    ctx.record('raw unix socket round trips', raw, 'req/s')
    ctx.record('control status round trips', control, 'req/s')
    ctx.record('control status vs raw socket', control / raw, 'ratio')

    // Startup of a client command vs. the bare runtime.
    const runs = ctx.quick ? 3 : 10
    const median = async (args: string[]) => {
      const times: number[] = []
      for (let i = 0; i < runs; i++) times.push(await timeMs(() => spawnSync(process.execPath, args)))
      return times.sort((a, b) => a - b)[Math.floor(runs / 2)]!
    }
    const bare = await median(['-e', '0'])
    const status = await median([bin, 'status', '--data-dir', join(dir, 'nothing')])
    ctx.record('node -e 0 startup', bare, 'ms')
    ctx.record('provsync status startup (no node)', status, 'ms')
    ctx.record('provsync status startup vs node', status / bare, 'ratio')

    // verify throughput over assertions pulled from many asserters.
    const count = ctx.quick ? 2_000 : 20_000
    const state = daemon.node.state
    const signers = Array.from({ length: 8 }, () => generateSigner())
    for (let offset = 0; offset < count; offset += 1000) {
      const batch = Array.from({ length: Math.min(1000, count - offset) }, (_, i) => {
        const signer = signers[(offset + i) % signers.length]!
        const coordinate = { volume: 'bench', destination: 'd', origin: `o${offset + i}` }
        const now = state.clock.now()
        const record = signAssertion({ coordinate, run: 1n, method: 'bench', hlc: now }, signer, 'bench')
        return encodeAssertion(record, 'bench')
      })
      await state.apply('assertions', batch, { from: signers[0]!.publicKey })
    }
    const records = STORE_NAMES.reduce((n, s) => n + state.tree(s).count(), 0)
    const ctxNode = {
      node: daemon.node,
      dataDir: join(dir, 'node'),
      startedAtMs: Date.now(),
      peerHeads: new Map(),
    }
    const treeOnly = await timeMs(() => {
      for (const store of STORE_NAMES) state.tree(store).verify()
    })
    let ok = false
    const full = await timeMs(async () => {
      ok = (await verify(ctxNode, () => {})).ok
    })
    if (!ok) throw new Error('verify found a mismatch in a freshly written store')
    ctx.record('tree recompute alone', (records * 1000) / treeOnly, 'records/s')
    ctx.record('verify (tree + records)', (records * 1000) / full, 'records/s')
    ctx.record('verify vs tree recompute alone', treeOnly / full, 'ratio')
  } finally {
    await daemon.stop()
    await rm(dir, { recursive: true, force: true })
  }
})
