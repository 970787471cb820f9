import { readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ExitCode, type Io, parseCommandArgs } from '@provsync/cli'
import { TempDirs } from '@provsync/testing'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { node } from '../src/commands/node.js'
import { planNode } from '../src/commands/node-options.js'
import { resolveSettings } from '../src/settings.js'
import { editDistance, suggest } from '../src/suggest.js'
import { runMain } from './in-process.js'

const temp = new TempDirs('provsync-conv-')
let dir: string
beforeEach(async () => {
  dir = await temp.make()
})
afterEach(() => temp.cleanup())

const run = (argv: string[], env: Record<string, string> = {}) => runMain(argv, dir, env)

async function plan(argv: string[], env: Record<string, string> = {}) {
  const args = parseCommandArgs(node.spec, argv)
  const io: Io = { stdout: { write: () => 0 }, stderr: { write: () => 0 }, env, cwd: dir }
  return planNode(args, resolveSettings(args, node.spec.options, env, dir), io)
}

describe('command-line conventions', () => {
  it('--version and version print the package version', async () => {
    for (const argv of [['--version'], ['version'], ['-V']]) {
      const { code, stdout } = await run(argv)
      expect(code).toBe(0)
      expect(stdout).toMatch(/^provsync \d+\.\d+\.\d+\n$/)
    }
  })

  it('suggests the closest command for a typo', async () => {
    expect(editDistance('stauts', 'status')).toBe(1)
    expect(suggest('stauts', ['status', 'audit'])).toBe('status')
    expect(suggest('zzzzzz', ['status', 'audit'])).toBeUndefined()
    const { code, stderr } = await run(['stauts'])
    expect(code).toBe(ExitCode.usage)
    expect(stderr).toBe("provsync: unknown command 'stauts'; did you mean 'status'? (see provsync --help)\n")
  })

  it('a negative number given to an option is judged by the option, not called "no value" (bug 9)', async () => {
    const { code, stderr } = await run(['ledger', '--since', '-5'])
    expect(code).toBe(ExitCode.usage)
    expect(stderr).toBe(
      "provsync ledger: --since must be an integer, got '-5' (see provsync ledger --help)\n",
    )
  })

  it('gate --ignore names --ignore, not --peer (bug 9)', async () => {
    const { code, stderr } = await run(['gate', 'v', 'd', 'o', '1', '--ignore', 'nobody'])
    expect(code).toBe(ExitCode.usage)
    expect(stderr).toContain('--ignore must be an Ed25519 peer id')
    expect(stderr).not.toContain('--peer')
  })

  it('no message starts with "provsync: provsync" (bug 9)', async () => {
    for (const argv of [['frobnicate'], ['status', '--bogus'], ['--bogus']]) {
      const { stderr } = await run(argv)
      expect(stderr).toMatch(/^provsync[ :]/)
      expect(stderr).not.toMatch(/^provsync: provsync/)
      expect(stderr.split('\n').length).toBe(2)
    }
  })

  it('a bad --listen or --bootstrap exits 2 naming the flag and creates nothing (bug 9)', async () => {
    for (const [flag, value] of [
      ['--listen', 'tcp:4001'],
      ['--bootstrap', '/ip4/1.2.3/tcp/1'],
    ] as const) {
      const { code, stderr } = await run(['node', '-d', join(dir, 'n'), flag, value])
      expect(code).toBe(ExitCode.usage)
      expect(stderr).toMatch(new RegExp(`^provsync node: ${flag} '${value}' is not a multiaddr`))
      expect(await readdir(dir)).toEqual([])
    }
  })

  it('a data directory that is a file is named in one line, exit 5 (bug 9)', async () => {
    await writeFile(join(dir, 'file'), 'x')
    const { code, stderr } = await run(['node', '-d', join(dir, 'file'), '--listen', '/ip4/127.0.0.1/tcp/0'])
    expect(code).toBe(ExitCode.failure)
    expect(stderr).toBe(
      `provsync: data directory ${join(dir, 'file')} is a file, not a directory (choose another with --data-dir)\n`,
    )
  })

  it('without --listen a node listens on the documented default port 4001 (bug 1)', async () => {
    expect((await plan([])).daemon.listen).toEqual(['/ip4/0.0.0.0/tcp/4001'])
  })

  it('node settings: flag > PROVSYNC_* environment > --config file > default', async () => {
    const config = join(dir, 'node.config.json')
    await writeFile(
      config,
      JSON.stringify({ 'metrics-port': 9001, listen: ['/ip4/127.0.0.1/tcp/7001'], mdns: true }),
    )
    const fromConfig = await plan(['--config', config])
    expect(fromConfig.daemon).toMatchObject({
      metricsPort: 9001,
      listen: ['/ip4/127.0.0.1/tcp/7001'],
      mdns: true,
    })
    const env = {
      PROVSYNC_METRICS_PORT: '9002',
      PROVSYNC_LISTEN: '/ip4/127.0.0.1/tcp/7002,/ip4/127.0.0.1/tcp/7003',
    }
    const fromEnv = await plan(['--config', config], env)
    expect(fromEnv.daemon).toMatchObject({
      metricsPort: 9002,
      listen: ['/ip4/127.0.0.1/tcp/7002', '/ip4/127.0.0.1/tcp/7003'],
    })
    const fromFlag = await plan(['--config', config, '--metrics-port', '9003'], env)
    expect(fromFlag.daemon.metricsPort).toBe(9003)
    expect((await plan([], { PROVSYNC_CONFIG: config })).daemon.metricsPort).toBe(9001)
    expect((await plan([], { PROVSYNC_LOG_FORMAT: 'json' })).logFormat).toBe('json')
  })

  it('a bad setting names where it came from', async () => {
    await expect(plan([], { PROVSYNC_METRICS_PORT: 'x' })).rejects.toThrow(
      /PROVSYNC_METRICS_PORT must be an integer/,
    )
    const config = join(dir, 'c.json')
    await writeFile(config, JSON.stringify({ lisen: [] }))
    await expect(plan(['--config', config])).rejects.toThrow(/unknown setting 'lisen'/)
    await expect(plan(['--config', join(dir, 'none.json')])).rejects.toThrow(/no such file/)
  })
})

describe('shell completion', () => {
  it('bash completes every command and each command’s flags, and parses as bash', async () => {
    const { code, stdout } = await run(['completion', 'bash'])
    expect(code).toBe(0)
    expect(stdout).toContain('record view audit gate supersede supersessions peers')
    expect(stdout).toMatch(/ {4}node\) flags="--data-dir --config --listen/)
    const { spawnSync } = await import('node:child_process')
    expect(spawnSync('bash', ['-n'], { input: stdout }).status).toBe(0)
  })

  it('zsh describes the commands; an unknown shell is a usage error', async () => {
    const zsh = await run(['completion', 'zsh'])
    expect(zsh.stdout).toMatch(/^#compdef provsync\n/)
    expect(zsh.stdout).toContain("'backup:Copy the running node")
    const fish = await run(['completion', 'fish'])
    expect(fish.code).toBe(ExitCode.usage)
    expect(fish.stderr).toBe(
      "provsync completion: <shell> must be bash or zsh, got 'fish' (see provsync completion --help)\n",
    )
  })
})

describe('the new commands on the command line', () => {
  it('say no node runs at the data directory, exit 3', async () => {
    const empty = join(dir, 'empty')
    const target = 'ab'.repeat(32)
    for (const argv of [
      ['record', 'v', 'd', 'o', '1'],
      ['view'],
      ['supersessions', target],
      ['peers'],
      ['backup', join(dir, 'copy')],
    ]) {
      const { code, stderr } = await run([...argv, '--data-dir', empty])
      expect({ argv, code }).toEqual({ argv, code: ExitCode.noNode })
      expect(stderr).toMatch(/^provsync: no node running at /)
    }
  })

  it('refuse bad arguments in one line naming the argument, exit 2', async () => {
    const cases: Array<[string[], string]> = [
      [['record', 'v', 'd', 'o', 'x'], "<run> must be a non-negative integer, got 'x'"],
      [['supersede', 'zz', '--kind', 'invalidate'], '<target> must be a 32-byte record hash'],
      [
        ['supersede', 'ab'.repeat(32), '--kind', 'delete'],
        "--kind must be one of invalidate, replace, correct, got 'delete'",
      ],
      [
        ['supersede', 'ab'.repeat(32), '--kind', 'replace', '--reason', 'r'],
        '--kind replace needs --replacement <hash>',
      ],
      [['supersessions'], 'give <target> or --agent <key>'],
      [['supersessions', '--agent', 'ab'.repeat(32), '--from', 'yesterday'], '--from must be an ISO date'],
      [['view', '--limit', '0'], '--limit must be between 1 and 10000'],
      [['connect', 'nowhere'], "<multiaddr> 'nowhere' is not a multiaddr"],
      [['unblock', 'nobody'], '<peer> must be an Ed25519 peer id'],
    ]
    for (const [argv, message] of cases) {
      const { code, stderr } = await run(argv)
      expect({ argv, code }).toEqual({ argv, code: ExitCode.usage })
      expect(stderr).toContain(message)
      expect(stderr.split('\n')).toHaveLength(2)
    }
  })
})
