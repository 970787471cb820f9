/**
 * Where chunk bytes go, probed before the pack layout was written (run by hand, not a suite):
 * `node packages/blobs/bench/pack-probe.ts [MiB] [rounds]`. The same bytes (256 MiB in 256 KiB
 * chunks) written three ways, alternated per round, each with 8 MiB of writes in flight on the
 * thread pool: `files` one file per chunk (temporary name, then rename: storage version 1),
 * `pack` one preallocated file with positional writes, `window16` one file per 16 chunks
 * (4 MiB) with positional writes. Then each read back chunk by chunk (`readSync` per chunk file
 * vs one descriptor per pack). Prints wall ms and CPU ms (user + system) per layout, best round.
 */
import {
  closeSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readSync,
  rename,
  rmSync,
  write,
  writeFile,
} from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { probeBytes } from './probe-bytes.js'

const MiB = 1024 * 1024
const CHUNK = 256 * 1024
const [mibArg, roundsArg] = process.argv.slice(2)
const size = Number(mibArg ?? 256) * MiB
const rounds = Number(roundsArg ?? 3)
const count = size / CHUNK
const bytes = probeBytes(size)
const chunk = (i: number) => bytes.subarray(i * CHUNK, (i + 1) * CHUNK)
const cb = (run: (done: (err: NodeJS.ErrnoException | null) => void) => void) =>
  new Promise<void>((resolve, reject) => run((err) => (err ? reject(err) : resolve())))

/** Runs `start(i)` for every chunk with at most 32 (8 MiB) in flight. */
async function windowed(start: (i: number) => Promise<void>): Promise<void> {
  const inFlight: Promise<void>[] = []
  for (let i = 0; i < count; i++) {
    inFlight.push(start(i))
    if (inFlight.length >= 32) await inFlight.shift()
  }
  await Promise.all(inFlight)
}

async function positional(fd: number, buf: Uint8Array, position: number): Promise<void> {
  let done = 0
  while (done < buf.byteLength) {
    const n = await new Promise<number>((resolve, reject) =>
      write(fd, buf, done, buf.byteLength - done, position + done, (err, w) =>
        err ? reject(err) : resolve(w),
      ),
    )
    done += n
  }
}

const layouts: Record<string, { write(dir: string): Promise<void>; read(dir: string): void }> = {
  files: {
    async write(dir) {
      for (let d = 0; d < 256; d++) mkdirSync(join(dir, d.toString(16).padStart(2, '0')), { recursive: true })
      await windowed(async (i) => {
        const path = join(dir, (i % 256).toString(16).padStart(2, '0'), `c${i}`)
        await cb((done) => writeFile(`${path}.tmp`, chunk(i), done))
        await cb((done) => rename(`${path}.tmp`, path, done))
      })
    },
    read(dir) {
      const target = new Uint8Array(CHUNK)
      for (let i = 0; i < count; i++) {
        const fd = openSync(join(dir, (i % 256).toString(16).padStart(2, '0'), `c${i}`), 'r')
        readSync(fd, target, 0, CHUNK, 0)
        closeSync(fd)
      }
    },
  },
  pack: {
    async write(dir) {
      const fd = openSync(join(dir, 'pack'), 'w+')
      ftruncateSync(fd, size)
      await windowed((i) => positional(fd, chunk(i), i * CHUNK))
      closeSync(fd)
    },
    read(dir) {
      const target = new Uint8Array(CHUNK)
      const fd = openSync(join(dir, 'pack'), 'r')
      for (let i = 0; i < count; i++) readSync(fd, target, 0, CHUNK, i * CHUNK)
      closeSync(fd)
    },
  },
  window16: {
    async write(dir) {
      const fds = new Map<number, number>()
      const pending = new Map<number, number>()
      await windowed(async (i) => {
        const w = Math.floor(i / 16)
        let fd = fds.get(w)
        if (fd === undefined) {
          fd = openSync(join(dir, `w${w}`), 'w+')
          fds.set(w, fd)
        }
        pending.set(w, (pending.get(w) ?? 0) + 1)
        await positional(fd, chunk(i), (i % 16) * CHUNK)
        const left = pending.get(w)! - 1
        pending.set(w, left)
        if (left === 0 && i % 16 === 15) {
          closeSync(fd)
          fds.delete(w)
        }
      })
      for (const fd of fds.values()) closeSync(fd)
    },
    read(dir) {
      const target = new Uint8Array(CHUNK)
      for (let w = 0; w < count / 16; w++) {
        const fd = openSync(join(dir, `w${w}`), 'r')
        for (let i = 0; i < 16; i++) readSync(fd, target, 0, CHUNK, i * CHUNK)
        closeSync(fd)
      }
    },
  },
}

const work = mkdtempSync(join(tmpdir(), 'provsync-pack-probe-'))
const best: Record<string, { wall: number; cpu: number; readWall: number; readCpu: number }> = {}
for (let round = 0; round < rounds; round++) {
  for (const [name, layout] of Object.entries(layouts)) {
    const dir = join(work, `${name}-${round}`)
    mkdirSync(dir, { recursive: true })
    let cpu0 = process.cpuUsage()
    let t0 = performance.now()
    await layout.write(dir)
    const wall = performance.now() - t0
    let used = process.cpuUsage(cpu0)
    const cpu = (used.user + used.system) / 1000
    cpu0 = process.cpuUsage()
    t0 = performance.now()
    layout.read(dir)
    const readWall = performance.now() - t0
    used = process.cpuUsage(cpu0)
    const readCpu = (used.user + used.system) / 1000
    rmSync(dir, { recursive: true, force: true })
    const b = best[name]
    if (b === undefined || wall < b.wall)
      best[name] = { wall, cpu, readWall: b?.readWall ?? readWall, readCpu: b?.readCpu ?? readCpu }
    if (readWall < best[name]!.readWall) Object.assign(best[name]!, { readWall, readCpu })
  }
}
rmSync(work, { recursive: true, force: true })
const load = loadavg()[0]!.toFixed(1)
for (const [name, b] of Object.entries(best)) {
  console.log(
    `load ${load} ${name.padEnd(8)} write ${b.wall.toFixed(0)} ms (${(size / MiB / (b.wall / 1000)).toFixed(0)} MiB/s) cpu ${b.cpu.toFixed(0)} ms; read ${b.readWall.toFixed(0)} ms cpu ${b.readCpu.toFixed(0)} ms`,
  )
}
