import { describe, expect, it } from 'vitest'
import { main as quickstart } from '../examples/quickstart.js'

describe('README examples', () => {
  it('quickstart: a ready-made node pulls another node’s evidence and names its asserter', async () => {
    const { allowed, reason, alice } = await quickstart()
    expect(allowed).toBe(true)
    expect(reason).toContain(`asserted by ${alice}`)
  })
})
