import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { assertBuilt, provsync } from './helpers.js'

let dir: string

beforeAll(async () => {
  assertBuilt()
  dir = await mkdtemp(join(tmpdir(), 'provsync-cli-sim-'))
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('provsync sim', () => {
  it('runs a seeded scenario, writes the JSON report and the SVG chart, and exits 0 when every invariant holds', async () => {
    const reportDir = join(dir, 'report')
    const result = await provsync(
      [
        'sim',
        '--seed',
        'cli',
        '--nodes',
        '3',
        '--byzantine',
        '1',
        '--ops',
        '40',
        '--duration-ms',
        '1500',
      ].concat(['--partitions', '1', '--crashes', '0', '--report-dir', reportDir]),
      { timeoutMs: 90_000 },
    )
    expect(result.stderr).not.toContain('provsync:')
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('invariants hold (seed "cli")')
    const report = JSON.parse(await readFile(join(reportDir, 'sim-cli.json'), 'utf8'))
    expect(report.seed).toBe('cli')
    expect(report.check.ok).toBe(true)
    expect(report.convergeMsAfterHeal).toBeGreaterThanOrEqual(0)
    const svg = await readFile(join(reportDir, 'sim-cli.svg'), 'utf8')
    expect(svg).toMatch(/^<svg[\s\S]*<\/svg>\s*$/)
  })

  it('turns a bad option into one line on stderr and exit status 2', async () => {
    const result = await provsync(['sim', '--nodes', 'many'])
    expect(result.code).toBe(2)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toContain('provsync sim: --nodes: expected a non-negative integer')
  })

  it('is listed in the global help', async () => {
    const result = await provsync(['--help'])
    expect(result.stdout).toMatch(/^\s+sim\s+Run the multi-node simulation harness/m)
  })
})
