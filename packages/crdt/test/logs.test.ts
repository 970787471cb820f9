import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

const dir = mkdtempSync(join(tmpdir(), 'provsync-crdt-logs-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const source = fileURLToPath(new URL('../src/index.ts', import.meta.url))

/** Opens a node state in a child process with `DEBUG` set, applies one junk record, returns stderr. */
function run(debug: string | undefined): string {
  const script = `
    const { openNodeState, generateSigner } = await import(${JSON.stringify(source)})
    const state = await openNodeState({ dataDir: ${JSON.stringify(join(dir, debug ?? 'none'))}, networkId: 'logs', verifyThreads: 1 })
    const [outcome] = await state.apply('assertions', [new Uint8Array([1, 2, 3])], { from: generateSigner().publicKey })
    if (outcome.status !== 'refused') throw new Error('junk was not refused')
    await state.close()
  `
  const env: NodeJS.ProcessEnv = { ...process.env }
  delete env.DEBUG
  if (debug !== undefined) env.DEBUG = debug
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env,
    encoding: 'utf8',
    timeout: 30_000,
  })
  expect(child.status, child.stderr).toBe(0)
  return child.stderr
}

describe('crdt logs (@libp2p/logger)', () => {
  it('names a refused record and its reason under provsync:crdt:ingest, and merkle its trees', () => {
    const stderr = run('provsync:crdt*,provsync:merkle')
    expect(stderr).toMatch(
      /provsync:crdt:ingest refused assertions record 0 of 1 \(peer\): unknown-kind - expected a assertion record/,
    )
    expect(stderr).toMatch(/provsync:merkle new tree assertions/)
  })

  it('is silent unless DEBUG names it', () => {
    expect(run(undefined)).not.toMatch(/provsync:/)
  })
})
