import { spawn } from 'node:child_process'
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { CrdtError } from './errors.js'

/**
 * LMDB keeps no checksums: random bytes over `data.mdb` can make the reading process segfault.
 * {@link checkDataFiles} checks what can be checked before LMDB reads the file, then walks every
 * sub-database in a child process, so a crash there is a report and not the node's death.
 */
export class DamagedDataFileError extends CrdtError {
  readonly file: string
  readonly reason: string
  constructor(file: string, reason: string) {
    super(`damaged data file ${file}: ${reason}`)
    this.file = file
    this.reason = reason
  }
}

export interface DataFileReport {
  readonly file: string
  /** No data file yet: a fresh data directory. */
  readonly fresh: boolean
  readonly ok: boolean
  readonly bytes: number
  readonly pageSize?: number
  /** The transaction id of the meta page LMDB would open. */
  readonly txnId?: number
  readonly lastPage?: number
  /** Named sub-databases and entries the walk read (absent without a walk). */
  readonly databases?: number
  readonly entries?: number
  readonly walkMs?: number
  readonly damage?: DamagedDataFileError
}

export interface CheckDataFilesOptions {
  /** Walk every sub-database in a child process; default true. The meta pages are always checked. */
  readonly walk?: boolean
  /** Bound on the walk; default 600,000 ms. A walk that does not end in time is a damage report. */
  readonly timeoutMs?: number
}

// LMDB (lmdb-js 3.x, mdb.master3): a page header of 24 bytes (pgno 8, txnid 8, pad 2, flags 2,
// lower 2, upper 2), then in pages 0 and 1 the meta: magic, version, address, map size, the free
// and main MDB_db (48 bytes each; the page size is the free db's md_pad), last page, txn id.
const META = { magic: 24, version: 28, freeDb: 48, mainDb: 96, lastPage: 144, txnId: 152, end: 160 }
const DB_ROOT = 40
const DB_ENTRIES = 32
const MAGIC = 0xbeefc0de
const DATA_VERSION = 2
const P_META = 0x08
const P_INVALID = 2n ** 64n - 1n

interface Meta {
  readonly pageSize: number
  readonly lastPage: bigint
  readonly txnId: bigint
  /** Entries of the main database: the named sub-databases. */
  readonly mainEntries: bigint
}

/** Checks one meta page; returns its reading or why it is damaged. */
function readMeta(page: Buffer, index: number): Meta | string {
  const label = `meta page ${index}`
  if (page.length < META.end) return `${label}: the file ends inside it`
  if (page.readBigUInt64LE(0) !== BigInt(index)) return `${label}: page number ${page.readBigUInt64LE(0)}`
  if ((page.readUInt16LE(18) & P_META) === 0) return `${label}: not flagged as a meta page`
  const magic = page.readUInt32LE(META.magic)
  if (magic !== MAGIC) return `${label}: magic 0x${magic.toString(16)}, expected 0x${MAGIC.toString(16)}`
  const version = page.readUInt32LE(META.version) & 0xffff
  if (version !== DATA_VERSION) return `${label}: format version ${version}, expected ${DATA_VERSION}`
  const pageSize = page.readUInt32LE(META.freeDb)
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) {
    return `${label}: page size ${pageSize}`
  }
  const lastPage = page.readBigUInt64LE(META.lastPage)
  if (lastPage < 1n) return `${label}: last page ${lastPage}`
  for (const [name, at] of [
    ['free', META.freeDb],
    ['main', META.mainDb],
  ] as const) {
    const root = page.readBigUInt64LE(at + DB_ROOT)
    if (root !== P_INVALID && (root < 2n || root > lastPage)) {
      return `${label}: ${name} database root page ${root} outside pages 2..${lastPage}`
    }
  }
  return {
    pageSize,
    lastPage,
    txnId: page.readBigUInt64LE(META.txnId),
    mainEntries: page.readBigUInt64LE(META.mainDb + DB_ENTRIES),
  }
}

/** The meta pages and the file's length: returns the meta LMDB would pick, or throws the damage. */
function checkMetaPages(file: string): { meta: Meta; bytes: number } {
  const fd = openSync(file, 'r')
  try {
    const bytes = fstatSync(fd).size
    const first = Buffer.alloc(META.end)
    const n = readSync(fd, first, 0, META.end, 0)
    const meta0 = readMeta(first.subarray(0, n), 0)
    if (typeof meta0 === 'string') throw new DamagedDataFileError(file, meta0)
    const second = Buffer.alloc(META.end)
    const m = readSync(fd, second, 0, META.end, meta0.pageSize)
    const meta1 = readMeta(second.subarray(0, m), 1)
    if (typeof meta1 === 'string') throw new DamagedDataFileError(file, meta1)
    if (meta1.pageSize !== meta0.pageSize) {
      throw new DamagedDataFileError(
        file,
        `meta pages disagree on the page size (${meta0.pageSize}, ${meta1.pageSize})`,
      )
    }
    // LMDB opens the meta with the higher transaction id.
    const meta = meta1.txnId > meta0.txnId ? meta1 : meta0
    const pages = BigInt(Math.floor(bytes / meta.pageSize))
    if (bytes % meta.pageSize !== 0) {
      throw new DamagedDataFileError(
        file,
        `${bytes} bytes is not a whole number of ${meta.pageSize}-byte pages`,
      )
    }
    if (meta.lastPage >= pages) {
      throw new DamagedDataFileError(
        file,
        `truncated: ${pages} pages, the last meta page (txn ${meta.txnId}) uses page ${meta.lastPage}`,
      )
    }
    return { meta, bytes }
  } finally {
    closeSync(fd)
  }
}

/**
 * The walk, run by a child `node`: opens the environment read-only and reads every entry of every
 * named sub-database (values included, so overflow pages are read too), then prints one JSON line.
 */
const WALK_SCRIPT = `
const { open } = require(process.env.PROVSYNC_LMDB_PATH)
const env = open({ path: process.env.PROVSYNC_DATA_DIR, readOnly: true, noSubdir: false, maxDbs: 1024, keyEncoding: 'binary', encoding: 'binary' })
let databases = 0, entries = 0, bytes = 0
// Names first: opening a sub-database while the main one is being iterated fails (MDB_BAD_TXN).
const names = Array.from(env.getKeys(), (key) => key.toString('utf8'))
for (const name of names) {
  let db
  try {
    db = env.openDB({ name, keyEncoding: 'binary', encoding: 'binary', create: false })
  } catch (error) {
    if (String(error.message).includes('MDB_INCOMPATIBLE')) { entries++; continue }
    throw error
  }
  databases++
  for (const { key: k, value } of db.getRange()) { entries++; bytes += k.length + (value?.length ?? 0) }
}
process.stdout.write(JSON.stringify({ names: names.length, databases, entries, walkedBytes: bytes }) + '\\n')
env.close()
`

interface WalkResult {
  names: number
  databases: number
  entries: number
}

function walk(dir: string, file: string, timeoutMs: number): Promise<WalkResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=commonjs', '-e', WALK_SCRIPT], {
      env: {
        ...process.env,
        PROVSYNC_DATA_DIR: dir,
        PROVSYNC_LMDB_PATH: createRequire(import.meta.url).resolve('lmdb'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
    })
    child.stderr.on('data', (chunk: Buffer) => {
      if (err.length < 4096) err += chunk.toString()
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) {
        resolve(JSON.parse(out) as WalkResult)
        return
      }
      const lines = err.trim().split('\n')
      const lastLine = lines.find((line) => /^\w*Error\b/.test(line)) ?? lines.at(-1) ?? ''
      const reason =
        signal === 'SIGKILL'
          ? `the walk of its sub-databases did not end within ${timeoutMs} ms`
          : signal !== null
            ? `reading its sub-databases crashed the reader (${signal})`
            : `reading its sub-databases failed: ${lastLine || `exit ${code}`}`
      reject(new DamagedDataFileError(file, reason))
    })
  })
}

/**
 * Checks the node's LMDB data file in `dir` before anything opens it: the two meta pages (magic,
 * format version, page size, roots and last page in range, the file long enough for the meta LMDB
 * would pick), then, unless `walk: false`, every entry of every sub-database, read by a child
 * process. Never throws for a damaged file: the report's `damage` names the file and the reason.
 * Cost measured on a 1 GB file (760,000 values of 1 KB, 2 vCPU at load ~18): meta pages 1.6 ms
 * (9 ms with a cold page cache), the walk 15-17 s. So a node checks the meta pages at every start
 * and walks on `verify --offline` (or after an unclean stop).
 */
export async function checkDataFiles(
  dir: string,
  options: CheckDataFilesOptions = {},
): Promise<DataFileReport> {
  const file = join(dir, 'data.mdb')
  if (!existsSync(file)) return { file, fresh: true, ok: true, bytes: 0 }
  let checked: { meta: Meta; bytes: number }
  try {
    checked = checkMetaPages(file)
  } catch (error) {
    if (!(error instanceof DamagedDataFileError)) throw error
    return { file, fresh: false, ok: false, bytes: fileBytes(file), damage: error }
  }
  const { meta, bytes } = checked
  const base = {
    file,
    fresh: false,
    bytes,
    pageSize: meta.pageSize,
    txnId: Number(meta.txnId),
    lastPage: Number(meta.lastPage),
  }
  if (options.walk === false) return { ...base, ok: true }
  const started = performance.now()
  try {
    const { names, databases, entries } = await walk(dir, file, options.timeoutMs ?? 600_000)
    const walkMs = Math.round(performance.now() - started)
    if (BigInt(names) !== meta.mainEntries) {
      const reason = `the main database holds ${meta.mainEntries} entries, reading it found ${names}`
      return { ...base, ok: false, damage: new DamagedDataFileError(file, reason), walkMs }
    }
    return { ...base, ok: true, databases, entries, walkMs }
  } catch (error) {
    if (!(error instanceof DamagedDataFileError)) throw error
    return { ...base, ok: false, damage: error, walkMs: Math.round(performance.now() - started) }
  }
}

function fileBytes(file: string): number {
  const fd = openSync(file, 'r')
  try {
    return fstatSync(fd).size
  } finally {
    closeSync(fd)
  }
}
