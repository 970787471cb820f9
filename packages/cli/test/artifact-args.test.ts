import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ExitCode, type Io, main } from '@provsync/cli'
import { TempDirs } from '@provsync/testing'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { parseDuration } from '../src/commands/artifact-sign.js'
import { runMain } from './in-process.js'

// The artifact commands' argument checks, in process: each is one line and exit 2, before any
// node is asked (the data directory has no node, which would be exit 3).
const temp = new TempDirs('provsync-art-args-')
let dir: string
beforeEach(async () => {
  dir = await temp.make()
})
afterEach(() => temp.cleanup())

const run = (argv: string[]) => runMain([...argv, '--data-dir', join(dir, 'none')], dir)

const KEY = 'ab'.repeat(32)

describe('artifact command arguments', () => {
  it.each([
    [['grant', KEY, 'hold', '--epoch', '1'], 'provsync grant: a hold grant needs 1 to 16 --scope prefixes'],
    [
      ['grant', KEY, 'member', '--scope', 'a', '--epoch', '1'],
      'provsync grant: a member grant covers no scope: drop --scope',
    ],
    [
      ['grant', KEY, 'owner', '--epoch', '1'],
      "provsync grant: <right> must be one of member, hold, publish, got 'owner'",
    ],
    [
      ['grant', KEY, 'hold', '--scope', 'Bad/Scope', '--epoch', '1'],
      "provsync grant: --scope 'Bad/Scope' is not a scope",
    ],
    [['grant', KEY, 'hold', '--scope', 'a'], 'provsync grant: --epoch <n> is required'],
    [['grant', KEY, 'hold', '--withdraw', '--epoch', '1'], 'provsync grant: --withdraw needs --reason'],
    [
      ['grant', KEY, 'hold', '--scope', 'a', '--epoch', '1', '--expires', '3 days'],
      'provsync grant: --expires must be a duration',
    ],
    [['epoch', 'cluster', 'x'], "provsync epoch: <min-epoch> must be a non-negative integer, got 'x'"],
    [
      ['publish', 'a/b', 'Fam', 'n', '--version', '1', '--epoch', '1', '--file', 'f'],
      'provsync publish: <family>: expected 1-64 of a-z 0-9 _',
    ],
    [
      ['publish', 'a/b', 'fam', 'n', '--epoch', '1', '--file', 'f'],
      'provsync publish: --version <n> is required',
    ],
    [
      ['publish', 'a/b', 'fam', 'n', '--version', '1', '--epoch', '1'],
      'provsync publish: --file <file> is required (or --tombstone)',
    ],
    [['get', 'a//b', 'fam', 'n'], "provsync get: <scope> 'a//b' is not a scope"],
    [['artifacts', '--scope', '/x'], "provsync artifacts: --scope '/x' is not a scope"],
  ])('%j is refused in one line, exit 2', async (argv, start) => {
    const { code, stderr } = await run(argv)
    expect(code).toBe(ExitCode.usage)
    expect(stderr.slice(0, start.length)).toBe(start)
    expect(stderr.split('\n')).toHaveLength(2)
  })

  it('refuses content above the inline limit naming the file and both sizes, before the key is read', async () => {
    await writeFile(join(dir, 'big'), new Uint8Array(4096))
    const args = [
      'publish',
      'a/b',
      'fam',
      'n',
      '--version',
      '1',
      '--epoch',
      '1',
      '--file',
      'big',
      '--key',
      'missing.key',
    ]
    const { code, stderr } = await run(args)
    expect(code).toBe(ExitCode.usage)
    expect(stderr).toMatch(/^provsync publish: big is 4096 bytes, above the inline limit of 2048 bytes;/)
  })

  it('a valid line reaches the node: no node is exit 3, a missing key file exit 5', async () => {
    await writeFile(join(dir, 'small'), 'x')
    const publish = ['publish', 'a/b', 'fam', 'n', '--version', '1', '--epoch', '1', '--file', 'small']
    expect((await run([...publish, '--key', 'missing.key'])).code).toBe(ExitCode.failure)
    expect((await run(['get', 'a/b', 'fam', 'n'])).code).toBe(ExitCode.noNode)
    expect((await run(['artifacts'])).code).toBe(ExitCode.noNode)
  })

  it('suggests the new commands for typos and completes their flags', async () => {
    expect((await run(['publsh'])).stderr).toContain("did you mean 'publish'?")
    expect((await run(['artifcats'])).stderr).toContain("did you mean 'artifacts'?")
    let script = ''
    const io: Io = {
      stdout: { write: (s: string) => (script += s) },
      stderr: { write: () => 0 },
      env: {},
      cwd: dir,
    }
    expect(await main(['completion', 'bash'], io)).toBe(0)
    expect(script).toContain(
      'publish) flags="--data-dir --version --epoch --file --key --expires --base --tombstone --json --help"',
    )
    expect(script).toMatch(/get\) flags="[^"]*--allow-stale/)
    expect(script).toMatch(/grant\) flags="[^"]*--withdraw/)
  })

  it('parses durations and refuses what is not one', () => {
    expect(parseDuration('c', '--expires', '24h')).toBe(86_400_000)
    expect(parseDuration('c', '--expires', '90s')).toBe(90_000)
    expect(parseDuration('c', '--expires', '500ms')).toBe(500)
    for (const bad of ['0s', '24', 'h', '-1h', '11000d'])
      expect(() => parseDuration('c', '--expires', bad)).toThrow(/duration/)
  })
})
