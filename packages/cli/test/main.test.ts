import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { COMMANDS, ExitCode } from '@provsync/cli'
import { TempDirs } from '@provsync/testing'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { runMain } from './in-process.js'

const temp = new TempDirs('provsync-main-')
let dir: string
beforeEach(async () => {
  dir = await temp.make()
})
afterEach(() => temp.cleanup())

const run = (...argv: string[]) => runMain(argv, dir)

describe('main', () => {
  it('lists every command in the global help', async () => {
    for (const argv of [[], ['--help'], ['help']]) {
      const { code, stdout } = await run(...argv)
      expect(code).toBe(ExitCode.ok)
      for (const command of COMMANDS) expect(stdout).toContain(`  ${command.spec.name} `)
    }
  })

  it('has --help on every command', async () => {
    for (const command of COMMANDS) {
      const { code, stdout, stderr } = await run(command.spec.name, '--help')
      expect(code).toBe(ExitCode.ok)
      expect(stdout.startsWith(`Usage: provsync ${command.spec.name}`)).toBe(true)
      expect(stderr).toBe('')
      expect((await run('help', command.spec.name)).stdout).toBe(stdout)
    }
  })

  it('reports bad arguments as one line on stderr with exit 2', async () => {
    for (const argv of [
      ['frobnicate'],
      ['status', '--bogus'],
      ['gate', 'v', 'd', 'o'],
      ['gate', 'v', 'd', 'o', 'x'],
      ['gate', 'v', 'd', 'o', '1', '--local', '--min-asserters', '2'],
      ['ledger', '--kind', 'agent'],
      ['revoke', '--reason', 'r', '--operator-key', 'k'],
      ['revoke', '--peer', 'not-a-peer', '--reason', 'r', '--operator-key', 'k'],
      ['revoke', '--signer', '00'.repeat(32), '--operator-key', 'k'],
      ['keygen'],
      ['keygen', '--operator', '--agent'],
      ['node', '--log-level', 'loud'],
    ]) {
      const { code, stdout, stderr } = await run(...argv)
      expect({ argv, code }).toEqual({ argv, code: ExitCode.usage })
      expect(stdout).toBe('')
      expect(stderr).toMatch(/^provsync[ :].*\(see provsync[^\n]*--help\)\n$/)
      expect(stderr).not.toMatch(/^provsync: provsync/)
    }
  })

  it('says no node runs at the data directory, exit 3, for every command that asks a node', async () => {
    const empty = join(dir, 'empty')
    for (const argv of [
      ['status'],
      ['audit', 'v', 'd', 'o'],
      ['gate', 'v', 'd', 'o', '1'],
      ['ledger'],
      ['verify', '--json'],
    ]) {
      const { code, stderr } = await run(...argv, '--data-dir', empty)
      expect({ argv, code }).toEqual({ argv, code: ExitCode.noNode })
      expect(stderr).toBe(
        `provsync: no node running at ${empty} (start one with: provsync node --data-dir ${empty})\n`,
      )
    }
  })

  it('keygen writes an operator key pair and prints its public key as JSON', async () => {
    const { code, stdout } = await run('keygen', '--operator', '--out', 'ops.key', '--json')
    expect(code).toBe(0)
    const written = JSON.parse(stdout)
    expect(written).toMatchObject({
      kind: 'operator',
      keyFile: join(dir, 'ops.key'),
      publicKeyFile: join(dir, 'ops.key.pub'),
    })
    expect(written.publicKey).toMatch(/^[0-9a-f]{64}$/)
    expect((await stat(join(dir, 'ops.key'))).mode & 0o777).toBe(0o600)
    const again = await run('keygen', '--operator', '--out', 'ops.key')
    expect(again.code).toBe(ExitCode.failure)
    expect(again.stderr).toMatch(/already exists \(use --force to replace it\)\n$/)
  })

  it('a revoke with an unreadable operator key fails before it needs a node', async () => {
    const { code, stderr } = await run(
      'revoke',
      '--signer',
      '00'.repeat(32),
      '--reason',
      'lost laptop',
      '--operator-key',
      'missing.key',
    )
    expect(code).toBe(ExitCode.failure)
    expect(stderr).toBe(`provsync: ${join(dir, 'missing.key')}: no such key file\n`)
  })
})
