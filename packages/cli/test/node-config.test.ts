import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  majority,
  NODE_CONFIG_FILE,
  type NodeConfig,
  readConfig,
  startBundle,
  withBundle,
  writeConfig,
} from '../src/node-config.js'

const key = (i: number) => new Uint8Array(32).fill(i)
const hex = (i: number) => Buffer.from(key(i)).toString('hex')
const genesisKeys = [key(1), key(2), key(3)]
const rotated: NodeConfig = {
  networkId: 'n',
  trust: [hex(1), hex(4), hex(5)],
  trustVersion: '2',
  trustThreshold: 2,
  genesis: { trust: [hex(1), hex(2), hex(3)], threshold: 2 },
  closed: true,
}
const dirs: string[] = []
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))

describe('the trust bundle a node starts with', () => {
  it('--trust on a new data directory: version 0, a majority by default', () => {
    const { bundle, reset } = startBundle(undefined, { keys: genesisKeys })
    expect(bundle).toMatchObject({ version: 0n, threshold: 2 })
    expect(reset).toBe(false)
    expect([1, 2, 3, 4, 5].map(majority)).toEqual([1, 2, 2, 3, 3])
  })

  it('no --trust: the rotated bundle node.json remembers', () => {
    const { bundle, genesis } = startBundle(rotated, undefined)
    expect(bundle.version).toBe(2n)
    expect(bundle.keys.map((k) => Buffer.from(k).toString('hex'))).toEqual(rotated.trust)
    expect(genesis).toEqual(rotated.genesis)
  })

  it('the same --trust as the genesis (any order), or the keys in force, keep the rotations', () => {
    expect(startBundle(rotated, { keys: [key(3), key(1), key(2)] }).bundle.version).toBe(2n)
    expect(startBundle(rotated, { keys: [key(5), key(4), key(1)] }).bundle.version).toBe(2n)
  })

  it('other keys, or another threshold, start a new chain at version 0 and say so', () => {
    const other = startBundle(rotated, { keys: [key(7)] })
    expect(other.bundle).toMatchObject({ version: 0n, threshold: 1 })
    expect(other.reset).toBe(true)
    expect(startBundle(rotated, { keys: genesisKeys, threshold: 3 }).bundle.version).toBe(0n)
  })
})

describe('node.json', () => {
  it('round-trips a rotated bundle and closed mode; refuses a damaged threshold', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'provsync-node-config-'))
    dirs.push(dir)
    const { bundle } = startBundle(rotated, undefined)
    await writeConfig(dir, withBundle({ networkId: 'n', trust: [], closed: true }, bundle))
    expect(await readConfig(dir, true)).toEqual({
      networkId: 'n',
      trust: rotated.trust,
      trustVersion: '2',
      trustThreshold: 2,
      closed: true,
    })
    await writeFile(join(dir, NODE_CONFIG_FILE), JSON.stringify({ ...rotated, trustThreshold: 4 }))
    expect(await readConfig(dir, false)).toBeUndefined()
    await expect(readConfig(dir, true)).rejects.toThrow(/is damaged/)
  })
})
