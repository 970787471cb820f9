import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  PROPOSAL_FORMAT,
  readProposal,
  type TrustProposal,
  TrustProposalError,
  withSignature,
  writeProposal,
} from '../src/commands/trust-file.js'
import { trustText } from '../src/commands/trust-publish.js'
import { ExitCode } from '../src/errors.js'

const hex = (b: number, n = 32) => Buffer.alloc(n, b).toString('hex')
const proposal: TrustProposal = {
  format: PROPOSAL_FORMAT,
  networkId: 'net',
  version: '3',
  threshold: 2,
  operators: [hex(1), hex(2), hex(3)],
  signatures: [],
}
const dirs: string[] = []
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))
const tempFile = async (name: string) => {
  const dir = await mkdtemp(join(tmpdir(), 'provsync-trust-proposal-'))
  dirs.push(dir)
  return join(dir, name)
}

describe('trust proposal files', () => {
  it('signatures stay sorted by key, one per key (a second signing replaces the first)', () => {
    let p = withSignature(proposal, Buffer.alloc(32, 9), Buffer.alloc(64, 1))
    p = withSignature(p, Buffer.alloc(32, 2), Buffer.alloc(64, 2))
    p = withSignature(p, Buffer.alloc(32, 9), Buffer.alloc(64, 3))
    expect(p.signatures).toEqual([
      { key: hex(2), signature: hex(2, 64) },
      { key: hex(9), signature: hex(3, 64) },
    ])
  })

  it('round-trip; an existing file is not overwritten by a new proposal', async () => {
    const file = await tempFile('p.json')
    await writeProposal(file, proposal, true)
    expect(await readProposal(file, 'p.json')).toEqual(proposal)
    await expect(writeProposal(file, proposal, true)).rejects.toThrow(/exists/)
  })

  it.each([
    ['not JSON', '{', /is not valid JSON/],
    ['another format', JSON.stringify({ ...proposal, format: 'x' }), /format is not provsync-trust-proposal/],
    ['a threshold above the keys', JSON.stringify({ ...proposal, threshold: 4 }), /\(threshold\)/],
    ['a version above u64', JSON.stringify({ ...proposal, version: '18446744073709551616' }), /\(version\)/],
    [
      'a short signature',
      JSON.stringify({ ...proposal, signatures: [{ key: hex(1), signature: hex(1, 63) }] }),
      /\(signatures\)/,
    ],
  ])('refuses %s in one line naming the file, exit 5', async (_what, text, why) => {
    const file = await tempFile('bad.json')
    await writeFile(file, text)
    const error = await readProposal(file, 'bad.json').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TrustProposalError)
    expect((error as TrustProposalError).exitCode).toBe(ExitCode.failure)
    expect((error as Error).message).toMatch(/^bad\.json: /)
    expect((error as Error).message).toMatch(why)
    expect((error as Error).message).not.toContain('\n')
  })

  it('show prints the bundle in force, its keys and the links refused', () => {
    const text = trustText({
      networkId: 'net',
      version: '2',
      threshold: 2,
      keys: [hex(1), hex(4), hex(5)],
      scope: 'trust',
      name: 'root',
      linksRefused: { 'below-threshold': 1, skipped: 0 },
    })
    expect(text).toBe(
      [
        'trust bundle version 2 of network "net": 2 of 3 keys sign the next',
        `  ${hex(1)}`,
        `  ${hex(4)}`,
        `  ${hex(5)}`,
        '  published as trust trust_bundle root',
        '  links refused: below-threshold 1',
        '',
      ].join('\n'),
    )
  })
})
