/**
 * CPU per GiB of each side of a transfer, the blob read against the plain-stream reference between
 * the same kind of processes (not a bench suite: run by hand). `node packages/blobs/bench/cpu-probe.ts
 * <MiB> <rounds> <variant>...`: puts one blob of `MiB` in a process of its own, then per round and
 * variant starts a serving process and, one after the other, a fetching process reading the plain
 * stream and one reading the blob, and prints for each the rate and the CPU seconds per GiB of the
 * fetching and of the serving process during the transfer (process start excluded), with the load.
 * A variant is `name` or `name:ENV=VALUE,...` (its environment goes to both processes), as in
 * rss-probe.ts. On a machine where both processes saturate the cores, `blob_fetch_efficiency` is
 * about the plain stream's CPU per byte (both sides) over the blob read's.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const [mib, rounds, ...variants] = process.argv.slice(2)
const work = mkdtempSync(join(tmpdir(), 'provsync-cpu-probe-'))
const GiB = 1024 ** 3

// `start`, `stop` and `parse` repeat rss-probe.ts's on purpose: the probes run under Node's type
// stripping, which needs `.ts` import specifiers, and the tools' tsc refuses those (TS5097), so a
// probe imports no module of this folder.
function start(args: string[], env: Record<string, string>) {
  const peer = fileURLToPath(new URL('./peer.ts', import.meta.url))
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', peer, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  })
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
  const next = async () => JSON.parse((await lines.next()).value as string)
  return { child, next }
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.stdin!.write('exit\n')
  await exited
}

function parse(v: string): [string, Record<string, string>] {
  const [name, spec] = v.split(':') as [string, string | undefined]
  const pairs = (spec ?? '').split(',').filter(Boolean)
  return [name, Object.fromEntries(pairs.map((kv) => kv.split('=')))]
}

const putter = start(['put', join(work, 'server'), mib!], {})
const { ids } = await putter.next()
await stop(putter.child)
for (let r = 0; r < Number(rounds); r++) {
  for (const v of variants) {
    const [name, env] = parse(v)
    const server = start(['serve', join(work, 'server')], env)
    const { addr } = await server.next()
    const figures: string[] = []
    for (const what of [`plain:${mib}`, ids[0]]) {
      server.child.stdin!.write('rss\n')
      const before = (await server.next()).cpu
      const dir = join(work, `fetch-${r}-${name}`)
      const load = loadavg()[0]!.toFixed(1)
      const fetcher = start(['fetch', dir, addr, what], env)
      const got = await fetcher.next()
      server.child.stdin!.write('rss\n')
      const serve = (await server.next()).cpu - before
      rmSync(dir, { recursive: true, force: true })
      const perGiB = (s: number) => (s / (got.bytes / GiB)).toFixed(2)
      const rate = (got.bytes / 2 ** 20 / got.seconds).toFixed(1)
      const kind = what.startsWith('plain:') ? 'plain' : 'blob'
      figures.push(
        `${kind} (load ${load}) ${rate} MiB/s, CPU s/GiB fetch ${perGiB(got.readCpu)} serve ${perGiB(serve)}`,
      )
    }
    await stop(server.child)
    console.log(`${new Date().toISOString().slice(11, 19)} ${name}: ${figures.join('; ')}`)
  }
}
rmSync(work, { recursive: true, force: true })
