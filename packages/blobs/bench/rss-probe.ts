/**
 * Peak memory of each side of a blob read, variants alternated in one run (not a bench suite:
 * run by hand). `node packages/blobs/bench/rss-probe.ts <MiB,...> <rounds> <variant>...`: puts
 * one blob per size (the last one is read) in a process of its own, then per round and variant starts a serving process and a
 * fetching process and prints both sides' peaks (`process.memoryUsage()` sampled every 50 ms) with
 * the load average. A variant is `name` or `name:ENV=VALUE,ENV2=VALUE`; its environment is given
 * to both processes (e.g. `BLOBS_PEER_VARIANT`, read by peer.ts, or glibc's `MALLOC_*`).
 * `BLOBS_PROBE_NODE_ARGS` (space-separated) goes to both peers' `node` command line, e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof` (Node refuses `--cpu-prof` in NODE_OPTIONS).
 * A variant's `BLOBS_PROBE_PEER`: another checkout's `peer.ts` (e.g. /work/base's), to alternate builds with one probe.
 * `idle` is the serving process's peak RSS once started and listening, before it serves anything.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const [mib, rounds, ...variants] = process.argv.slice(2)
const work = mkdtempSync(join(tmpdir(), 'provsync-rss-probe-'))

function start(args: string[], env: Record<string, string>) {
  const peer = env.BLOBS_PROBE_PEER ?? fileURLToPath(new URL('./peer.ts', import.meta.url))
  const nodeArgs = (process.env.BLOBS_PROBE_NODE_ARGS ?? '').split(' ').filter(Boolean)
  const child = spawn(
    process.execPath,
    [...nodeArgs, '--disable-warning=ExperimentalWarning', peer, ...args],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...process.env, ...env },
    },
  )
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
  const next = async () => JSON.parse((await lines.next()).value as string)
  return { child, next }
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.stdin!.write('exit\n')
  await exited
}

const putter = start(['put', join(work, 'server'), ...mib!.split(',')], {})
const { ids } = await putter.next()
await stop(putter.child)
for (let r = 0; r < Number(rounds); r++) {
  for (const v of variants) {
    const [name, spec] = v.split(':') as [string, string | undefined]
    const env = Object.fromEntries(
      (spec ?? '')
        .split(',')
        .filter(Boolean)
        .map((kv) => kv.split('=')),
    )
    const load = loadavg()[0]!.toFixed(1)
    const server = start(['serve', join(work, 'server')], env)
    const { addr } = await server.next()
    server.child.stdin!.write('rss\n')
    const idle = Math.round((await server.next()).rssMiB)
    const dir = join(work, `fetch-${r}-${name}`)
    const fetcher = start(['fetch', dir, addr, ids[ids.length - 1]], env)
    const got = await fetcher.next()
    server.child.stdin!.write('rss\n')
    const served = await server.next()
    await stop(server.child)
    rmSync(dir, { recursive: true, force: true })
    const rate = (got.bytes / 2 ** 20 / got.seconds).toFixed(1)
    const time = new Date().toISOString().slice(11, 19)
    const sides = `fetch cpu ${got.cpu} s, rss ${Math.round(got.rssMiB)} ${JSON.stringify(got.peaks)}; serve cpu ${served.cpu} s, idle ${idle}, rss ${Math.round(served.rssMiB)} ${JSON.stringify(served.peaks)}`
    console.log(`${time} load ${load} ${name}: ${rate} MiB/s; ${sides}`)
  }
}
rmSync(work, { recursive: true, force: true })
