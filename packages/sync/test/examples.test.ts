import { describe, expect, it } from 'vitest'
import { main as embed } from '../examples/embed.js'
import { main as quickstart } from '../examples/quickstart.js'

describe('README examples', () => {
  it('quickstart: a ready-made node pulls another node’s evidence and names its asserter', async () => {
    const { allowed, reason, alice } = await quickstart()
    expect(allowed).toBe(true)
    expect(reason).toContain(`asserted by ${alice}`)
  })

  it('embed: the service inside a hand-made libp2p node syncs on demand', async () => {
    expect(await embed()).toBe('b pulled 1 record(s), applied 1; run 7')
  })
})
