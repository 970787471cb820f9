/**
 * Probe (not a suite): what handing a chunk to the other end of a connection costs, in one thread
 * (a microtask, as `ShapedConnection.pass` does within a thread) and across threads (a copy into a
 * buffer of its own, transferred on a MessagePort, as `PortPeer` does), in CPU of the whole process
 * per chunk. Run: `npx tsx packages/sim/bench/port-crossing.ts [chunk bytes, default 200]`.
 */
import { MessageChannel, Worker } from 'node:worker_threads'

const N = 200_000
const SIZE = Number(process.argv[2] ?? 200)
const source = new Uint8Array(SIZE)
const cpuMicros = (): number => {
  const u = process.cpuUsage()
  return u.user + u.system
}

async function inThread(): Promise<number> {
  const t0 = cpuMicros()
  let got = 0
  await new Promise<void>((resolve) => {
    for (let i = 0; i < N; i++)
      queueMicrotask(() => {
        got += source.byteLength
        if (got === N * SIZE) resolve()
      })
  })
  return (cpuMicros() - t0) / N
}

async function acrossThreads(): Promise<number> {
  const worker = new Worker(
    `const { parentPort } = require('node:worker_threads')
     parentPort.once('message', ({ port, n }) => {
       let count = 0
       port.on('message', () => { if (++count === n) port.postMessage('done') })
     })`,
    { eval: true },
  )
  const { port1, port2 } = new MessageChannel()
  worker.postMessage({ port: port2, n: N }, [port2])
  const done = new Promise((resolve) => port1.once('message', resolve))
  const t0 = cpuMicros()
  for (let i = 0; i < N; i++) {
    const bytes = new Uint8Array(SIZE)
    bytes.set(source)
    port1.postMessage({ t: 'data', bytes }, [bytes.buffer])
  }
  await done
  const perChunk = (cpuMicros() - t0) / N
  port1.close()
  await worker.terminate()
  return perChunk
}

console.log(`microtask, one thread: ${(await inThread()).toFixed(2)} µs CPU per ${SIZE}-byte chunk`)
console.log(`MessagePort, two threads: ${(await acrossThreads()).toFixed(2)} µs CPU per ${SIZE}-byte chunk`)
