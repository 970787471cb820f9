/**
 * Shared by the brief fuzz run in `npm test` (`fuzz.test.ts`) and the long one (`npm run fuzz`):
 * the committed vectors as seeds, the corpus of past findings, and a bounded mutation loop.
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { open, type RootDatabase } from 'lmdb'
import { hex, unhex } from '../vectors/build.js'
import { mutate, prng, randomMutations } from './mutate.js'
import { type FuzzTarget, fuzzTargets, type Vectors } from './targets.js'

export const FUZZ_DIR = fileURLToPath(new URL('.', import.meta.url))
export const CORPUS_DIR = join(FUZZ_DIR, 'corpus')
const VECTORS_DIR = join(FUZZ_DIR, '..', 'vectors', 'v1')

export function loadVectors(): Vectors {
  const load = (name: string) => JSON.parse(readFileSync(join(VECTORS_DIR, name), 'utf8'))
  return { records: load('records.json'), merkle: load('merkle.json'), sync: load('sync.json') }
}

/** Past findings of a target: `corpus/<target>/<name>.hex`, one input per file. */
export function corpusOf(target: string): Array<{ file: string; input: Uint8Array }> {
  const dir = join(CORPUS_DIR, target)
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((f) => f.endsWith('.hex'))
    .sort()
    .map((file) => ({ file, input: unhex(readFileSync(join(dir, file), 'utf8').trim()) }))
}

/** Keeps a finding in the corpus (named by its hash); returns the file. */
export function saveFinding(target: string, input: Uint8Array): string {
  const dir = join(CORPUS_DIR, target)
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `found-${createHash('sha256').update(input).digest('hex').slice(0, 16)}.hex`)
  writeFileSync(file, `${hex(input)}\n`)
  return file
}

export interface FuzzEnv {
  targets: FuzzTarget[]
  close(): Promise<void>
}

/** The targets over a scratch LMDB environment (the merkle targets' trees); close() deletes it. */
export function openFuzzEnv(): FuzzEnv {
  const path = mkdtempSync(join(tmpdir(), 'provsync-fuzz-'))
  const env: RootDatabase = open({ path, maxDbs: 64, keyEncoding: 'binary' })
  const targets = fuzzTargets(loadVectors(), env)
  return {
    targets,
    async close() {
      await env.close()
      rmSync(path, { recursive: true, force: true })
    },
  }
}

export interface TargetStats {
  target: string
  inputs: number
  accepted: number
  refused: number
  findings: Array<{ input: Uint8Array; error: unknown }>
  slowestMs: number
}

/**
 * Runs mutated seeds (and now and then random bytes) through one target until `runs` inputs or
 * `deadline` (ms since the epoch), whichever comes first; stops at `maxFindings`.
 */
export function fuzzTarget(
  target: FuzzTarget,
  options: { seed: number; runs: number; deadline: number; maxFindings?: number },
): TargetStats {
  const next = prng(options.seed)
  const stats: TargetStats = {
    target: target.name,
    inputs: 0,
    accepted: 0,
    refused: 0,
    findings: [],
    slowestMs: 0,
  }
  const starts = [...target.seeds, ...corpusOf(target.name).map((c) => c.input)]
  while (stats.inputs < options.runs && Date.now() < options.deadline) {
    const input =
      next() < 0.05
        ? Uint8Array.from({ length: Math.floor(next() * 300) }, () => Math.floor(next() * 256))
        : mutate(starts[Math.floor(next() * starts.length)]!, randomMutations(next))
    const began = performance.now()
    try {
      if (target.run(input) === 'accepted') stats.accepted++
      else stats.refused++
    } catch (error) {
      stats.findings.push({ input, error })
      if (stats.findings.length >= (options.maxFindings ?? 5)) break
    }
    stats.slowestMs = Math.max(stats.slowestMs, performance.now() - began)
    stats.inputs++
  }
  return stats
}
