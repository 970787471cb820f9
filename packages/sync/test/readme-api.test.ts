import { checkReadmeApi } from '@provsync/testing'
import { describe, expect, it } from 'vitest'

// How the block and the exports are read is tested in @provsync/testing (readme-api.test.ts).
const check = () => checkReadmeApi(new URL('../', import.meta.url))

describe('README API block', () => {
  it('lists every export of the package', () => {
    const { block, exported, missing } = check()
    expect(block.length).toBeGreaterThan(0)
    expect(exported.length).toBeGreaterThan(30)
    expect(missing).toEqual([])
  })

  it('lists nothing the package does not export', () => {
    expect(check().extra).toEqual([])
  })
})
