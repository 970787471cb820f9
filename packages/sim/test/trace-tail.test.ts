import { describe, expect, it } from 'vitest'
import { eagerGroups, halfEagerLinks } from '../bench/trace-tail.js'

// The trace probe's reading of push links: which groups the eager links split the nodes into.

const links = (node: string, eager: string) => ({ t: 0, ev: 'links', node, eager })

describe('eager groups of a round of links lines', () => {
  it('one group when the eager links join every node, whichever end lists a link', () => {
    const round = [links('n0', 'n1'), links('n1', ''), links('n2', 'n1 n3'), links('n3', '')]
    expect(eagerGroups(round)).toHaveLength(1)
  })

  it('a group whose every link to the rest is lazy stands apart, largest group first', () => {
    const round = [
      links('n0', 'n1'),
      links('n1', 'n0 n2'),
      links('n2', 'n1'),
      links('n5', 'n6'),
      links('n6', 'n5'),
      links('n7', ''),
    ]
    const groups = eagerGroups(round).map((g) => [...g].sort())
    expect(groups).toEqual([['n0', 'n1', 'n2'], ['n5', 'n6'], ['n7']])
  })
})

describe('half-eager links of a round of links lines', () => {
  const both = (node: string, eager: string, lazy: string) => ({ t: 0, ev: 'links', node, eager, lazy })

  it('names a link eager at one end and lazy at the other, from the end that pushes; none when both ends agree', () => {
    const round = [both('n0', 'n1 n2', ''), both('n1', 'n0', ''), both('n2', '', 'n0'), both('n3', '', '')]
    expect(halfEagerLinks(round)).toEqual(['n0>n2'])
    expect(halfEagerLinks([both('n0', 'n1', ''), both('n1', 'n0', '')])).toEqual([])
    // A node whose line is missing from the round is not guessed at.
    expect(halfEagerLinks([both('n0', 'n9', '')])).toEqual([])
  })
})
