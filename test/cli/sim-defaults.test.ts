import { scenariosFromArgs } from '@provsync/sim'
import { describe, expect, it } from 'vitest'

// Bug 11: `npm run sim -- --transport tcp` failed because the default lossy links only work on
// the memory transport. Defaults follow the transport chosen.
describe('sim defaults fit the transport', () => {
  it('tcp gets no lossy links by default, memory keeps two', () => {
    const tcp = scenariosFromArgs(['--transport', 'tcp']).scenarios[0]!
    const memory = scenariosFromArgs([]).scenarios[0]!
    expect(tcp.faults).toMatchObject({ random: { lossyLinks: 0 } })
    expect(memory.faults).toMatchObject({ random: { lossyLinks: 2 } })
  })

  it('an explicit --lossy-links on tcp is still refused with the reason', async () => {
    const { validateScenario } = await import('@provsync/sim')
    const [scenario] = scenariosFromArgs([
      '--transport',
      'tcp',
      '--lossy-links',
      '2',
      '--nodes',
      '3',
    ]).scenarios
    expect(() => validateScenario(scenario!)).toThrow(/memory transport/)
  })
})
