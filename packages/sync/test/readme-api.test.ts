import { apiBlock, checkReadmeApi, exportedNames } from '@provsync/testing'
import { describe, expect, it } from 'vitest'

describe('README API block', () => {
  it('finds names in export lists and declarations, and only whole words in the block', () => {
    const source =
      "export { a, type B, c as D } from './x.js'\nexport function e() {}\nexport interface F {}\n"
    expect(exportedNames(source)).toEqual(['B', 'D', 'a', 'e', 'F'].sort())
    const block = apiBlock('# x\n## API\n\n```ts\nexport function aa()\n```\n')
    expect(block).toContain('aa')
    expect(/\ba\b/.test(block)).toBe(false)
  })

  it('lists every export of the package', () => {
    const { block, exported, missing } = checkReadmeApi(new URL('../', import.meta.url))
    expect(block.length).toBeGreaterThan(0)
    expect(exported.length).toBeGreaterThan(30)
    expect(missing).toEqual([])
  })

  it('lists nothing the package does not export', () => {
    expect(checkReadmeApi(new URL('../', import.meta.url)).extra).toEqual([])
  })
})
