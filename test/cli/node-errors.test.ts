import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fillNoise } from '@provsync/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { assertBuilt, eventually, provsync, startNode } from './helpers.js'

// Bugs 1 and 9 with the real binary: where a node listens by default, and the one line each
// failure to start prints.
let dir: string
let busy: Server
let busyPort: number

beforeAll(async () => {
  assertBuilt()
  dir = await mkdtemp(join(tmpdir(), 'provsync-node-errors-'))
  busy = createServer()
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve))
  busyPort = (busy.address() as { port: number }).port
})

afterAll(async () => {
  await new Promise((resolve) => busy.close(resolve))
  await rm(dir, { recursive: true, force: true })
})

describe('provsync node start-up', () => {
  it('without --listen listens on TCP port 4001 and prints its peer id and addresses (bug 1)', async () => {
    const node = await startNode(['--data-dir', join(dir, 'default')])
    try {
      expect(node.ready.peerId).toMatch(/^12D3Koo/)
      expect(node.ready.addresses.length).toBeGreaterThan(0)
      for (const address of node.ready.addresses)
        expect(address).toMatch(new RegExp(`/tcp/4001/p2p/${node.ready.peerId}$`))
    } finally {
      expect(await node.stop()).toBe(0)
    }
  })

  it('a P2P address in use is one line naming the address and --listen, exit 5', async () => {
    const address = `/ip4/127.0.0.1/tcp/${busyPort}`
    const result = await provsync(['node', '--data-dir', join(dir, 'p2p'), '--listen', address])
    expect(result.code).toBe(5)
    expect(result.stderr).toBe(
      `provsync: cannot listen on ${address}: the address is in use (choose another with --listen)\n`,
    )
  })

  it('a metrics port in use is one line naming --metrics-port, exit 5', async () => {
    const result = await provsync([
      'node',
      '--data-dir',
      join(dir, 'metrics'),
      '--listen',
      '/ip4/127.0.0.1/tcp/0',
      '--metrics-port',
      String(busyPort),
    ])
    expect(result.code).toBe(5)
    expect(result.stderr).toBe(
      `provsync: cannot serve metrics on 127.0.0.1:${busyPort}: the address is in use (choose another with --metrics-port)\n`,
    )
  })

  it('a damaged node.json asks for --network, and --network then rewrites it', async () => {
    const data = join(dir, 'damaged')
    await mkdir(data, { mode: 0o700 })
    await writeFile(join(data, 'node.json'), '{not json')
    const refused = await provsync(['node', '--data-dir', data, '--listen', '/ip4/127.0.0.1/tcp/0'])
    expect(refused.code).toBe(5)
    expect(refused.stderr).toBe(
      `provsync: ${join(data, 'node.json')} is damaged; start with --network <id> (and --trust <file>) to rewrite it\n`,
    )
    const node = await startNode([
      '--data-dir',
      data,
      '--network',
      'again',
      '--listen',
      '/ip4/127.0.0.1/tcp/0',
    ])
    expect(node.ready.networkId).toBe('again')
    expect(await node.stop()).toBe(0)
  })

  it('-k given a .pub file says it is a public key, not to chmod it', async () => {
    const keygen = await provsync(['keygen', '--operator', '--out', 'ops.key'], { cwd: dir })
    expect(keygen.code).toBe(0)
    const pub = join(dir, 'ops.key.pub')
    const result = await provsync(
      ['revoke', '--signer', '00'.repeat(32), '--reason', 'r', '-k', pub, '-d', join(dir, 'none')],
      { cwd: dir },
    )
    expect(result.code).toBe(5)
    expect(result.stderr).toBe(
      `provsync: ${pub}: is a public key; give the secret operator key file (the secret key is ${join(dir, 'ops.key')})\n`,
    )
  })

  it('logs an unreachable bootstrap peer at the default level, naming it and why (bug 10)', async () => {
    const other = await startNode(['--data-dir', join(dir, 'gone'), '--listen', '/ip4/127.0.0.1/tcp/0'])
    const address = other.ready.addresses[0]!
    expect(await other.stop()).toBe(0)
    const node = await startNode([
      '--data-dir',
      join(dir, 'lonely'),
      '--listen',
      '/ip4/127.0.0.1/tcp/0',
      '--bootstrap',
      address,
    ])
    try {
      await eventually(
        'a warning about the bootstrap peer',
        async () => node.stderr(),
        (text) => text.includes(`cannot sync with ${other.ready.peerId}: `),
      )
      const line = node
        .stderr()
        .split('\n')
        .find((l) => l.includes(`cannot sync with ${other.ready.peerId}`))
      expect(line).toMatch(/warn/i)
    } finally {
      expect(await node.stop()).toBe(0)
    }
  })

  it.each([
    ['noise over both meta pages', (file: Buffer) => fillNoise(file, 0x9e3779b9, 0, 2 * 4096)],
    [
      'noise over every page after the metas',
      (file: Buffer) => fillNoise(file, 0x9e3779b9, 2 * 4096, file.length),
    ],
  ])('a data file with %s is one line naming the file, exit 5, never a crash', async (_, damage) => {
    const dataDir = join(dir, `damaged-${damage.toString().length}-${Math.random()}`)
    const node = await startNode(['--data-dir', dataDir, '--listen', '/ip4/127.0.0.1/tcp/0'])
    expect(await node.stop()).toBe(0)
    const file = join(dataDir, 'data.mdb')
    const bytes = await readFile(file)
    damage(bytes)
    await writeFile(file, bytes)
    const result = await provsync(['node', '--data-dir', dataDir, '--listen', '/ip4/127.0.0.1/tcp/0'])
    expect(result.code).toBe(5)
    expect(result.stderr).toMatch(new RegExp(`^provsync: damaged data file ${escapeRegExp(file)}: [^\n]+\n$`))
  })
})

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
