import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { compareTimestamps } from '@provsync/hlc'
import { expect, test } from 'vitest'
import { main } from '../examples/basic.js'

test('the README example does what it says', () => {
  const lines: string[] = []
  const result = main((line) => lines.push(line))
  expect(compareTimestamps(result.received, result.sent)).toBe(1)
  expect(result.refusedDriftMs).toBeGreaterThan(3_600_000)
  expect(compareTimestamps(result.afterRestart, result.sent)).toBe(1)
  expect(lines.at(-1)).toBe('still after what she sent before: true')
})

test('the example runs as a script', () => {
  const script = fileURLToPath(new URL('../examples/basic.ts', import.meta.url))
  const root = fileURLToPath(new URL('../../../', import.meta.url))
  // The `source` export condition points at src/, so the run never depends on a stale dist/.
  const output = execFileSync(process.execPath, ['--conditions=source', '--import', 'tsx', script], {
    cwd: root,
    encoding: 'utf8',
  })
  expect(output).toMatch(/^alice sends {3}\d{4}-\d\d-\d\dT[\d:.]+Z\/0000\/a11ce00000000001$/m)
  expect(output).toContain('still after what she sent before: true')
})
