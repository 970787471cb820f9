import { describe, expect, it } from 'vitest'
import {
  type ArtifactNodeSnapshot,
  type ArtifactRunSnapshot,
  checkArtifactRun,
} from '../src/artifact-checker.js'
import { runArtifactScenario } from '../src/artifact-scenario.js'

const node = (id: string, over: Partial<ArtifactNodeSnapshot> = {}): ArtifactNodeSnapshot => ({
  id,
  honest: true,
  granted: ['cluster/s0'],
  scopes: ['cluster/s0'],
  current: { 'cluster/s0': { 'cluster_snapshot/main': 'aa' } },
  roots: { 'cluster/s0': 'r1' },
  ...over,
})

const run = (over: Partial<ArtifactRunSnapshot> = {}): ArtifactRunSnapshot => ({
  nodes: [node('a'), node('b'), node('evil', { honest: false, granted: ['cluster'] })],
  received: [{ node: 'a', from: 'b', scope: 'cluster/s0' }],
  offences: [{ at: 'a', peer: 'evil', reason: 'stale-epoch' }],
  expectedOffences: ['stale-epoch'],
  ...over,
})

describe('the artifact checker (pure)', () => {
  it('passes a run where honest holders agree, stay in scope and blame only the hostile peer', () => {
    expect(checkArtifactRun(run())).toEqual([])
  })

  it('reports a node storing a scope outside its grant, and one an honest peer sent it', () => {
    const violations = checkArtifactRun(
      run({
        nodes: [
          node('a', { scopes: ['cluster/s0', 'cluster/s1'] }),
          node('b'),
          node('evil', { honest: false }),
        ],
        received: [
          { node: 'a', from: 'b', scope: 'cluster/s2' },
          { node: 'a', from: 'evil', scope: 'cluster/s3' },
        ],
      }),
    )
    expect(violations.map((v) => v.detail)).toEqual([
      'a holds cluster/s1, outside its grant',
      'a received an artifact of cluster/s2 from b',
    ])
  })

  it('reports honest holders of a scope that differ on the root or on a current version', () => {
    const other = { 'cluster/s0': { 'cluster_snapshot/main': 'bb' } }
    expect(
      checkArtifactRun(run({ nodes: [node('a'), node('b', { roots: { 'cluster/s0': 'r2' } })] })),
    ).toEqual([{ invariant: 'convergence', detail: 'b and a differ on the root of cluster/s0' }])
    expect(checkArtifactRun(run({ nodes: [node('a'), node('b', { current: other })] }))).toEqual([
      { invariant: 'convergence', detail: 'b and a differ on current versions of cluster/s0' },
    ])
  })

  it('reports an honest peer blamed, and a lie nobody blamed', () => {
    const violations = checkArtifactRun(
      run({
        offences: [{ at: 'a', peer: 'b', reason: 'altered-content' }],
        expectedOffences: ['stale-epoch'],
      }),
    )
    expect(violations).toEqual([
      { invariant: 'attribution', detail: 'a blamed honest b for altered-content' },
      { invariant: 'attribution', detail: 'no node blamed the hostile peer for stale-epoch' },
    ])
  })
})

describe('the artifact scenario over libp2p on loopback', () => {
  it(
    'a compromised storage node is refused and blamed for every lie; honest holders converge in scope',
    { timeout: 240_000 },
    async () => {
      const result = await runArtifactScenario({ seed: 'ci', rounds: 3 })
      expect(result.violations).toEqual([])
      const { nodes, offences, received } = result.snapshot
      // Each consumer holds exactly its one scope; the storage nodes their two.
      for (const n of nodes.filter((x) => x.id.startsWith('consumer-'))) expect(n.scopes).toEqual(n.granted)
      for (const n of nodes.filter((x) => x.id.startsWith('storage-'))) expect(n.scopes).toEqual(n.granted)
      // The lies were sent and seen: blamed on the compromised node only, by honest nodes.
      const reasons = new Set(offences.map((o) => o.reason))
      for (const reason of ['altered-content', 'out-of-scope', 'stale-epoch'])
        expect(reasons).toContain(reason)
      expect(new Set(offences.map((o) => o.peer))).toEqual(new Set(['compromised']))
      expect(received.some((r) => r.from === 'compromised')).toBe(true)
      // The replayed epoch-1 version 99 is current nowhere.
      const control = nodes.find((n) => n.id === 'control')!
      for (const n of nodes.filter((x) => x.honest))
        for (const scope of n.scopes) expect(n.current[scope]).toEqual(control.current[scope])
    },
  )
})
