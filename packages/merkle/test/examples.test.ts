import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { expect, test } from 'vitest'
import { main } from '../examples/basic.js'

const names = (keys: Uint8Array[]) => keys.map((k) => new TextDecoder().decode(k))

test('the README example finds what each replica lacks and what differs', async () => {
  const lines: string[] = []
  const result = await main((line) => lines.push(line))
  expect(names(result.localOnly)).toEqual(['damson'])
  expect(names(result.remoteOnly)).toEqual(['elder'])
  expect(names(result.differing)).toEqual(['cherry'])
  expect(lines.at(-1)).toBe('they differ on: cherry')
})

test('the example runs as a script', () => {
  const script = fileURLToPath(new URL('../examples/basic.ts', import.meta.url))
  const root = fileURLToPath(new URL('../../../', import.meta.url))
  const output = execFileSync(process.execPath, ['--import', 'tsx', script], { cwd: root, encoding: 'utf8' })
  expect(output).toMatch(/^1 round trip\(s\), \d+ bytes$/m)
  expect(output).toContain('only alice has: damson')
  expect(output).toContain('only bob has:   elder')
})
