import { describe, expect, it } from 'vitest'
import { apiBlock, checkReadmeApi, declaredNames, exportedNames } from '../src/index.js'

describe('README API block', () => {
  it('finds names in export lists and declarations, and only whole words in the block', () => {
    const source =
      "export { a, type B, c as D } from './x.js'\nexport function e() {}\nexport interface F {}\n"
    expect(exportedNames(source)).toEqual(['B', 'D', 'a', 'e', 'F'].sort())
    const block = apiBlock('# x\n## API\n\n```ts\nexport function aa()\nexport const b, c\n```\n')
    expect(block).toContain('aa')
    expect(/\ba\b/.test(block)).toBe(false)
    expect(declaredNames(block)).toEqual(['aa', 'b', 'c'])
    expect(apiBlock('# x\n## Usage\n```ts\nexport function aa()\n```\n')).toBe('')
  })

  it('lists every export of the package and nothing it does not export', () => {
    const check = checkReadmeApi(new URL('../', import.meta.url))
    expect(check.block.length).toBeGreaterThan(0)
    expect(check.exported.length).toBeGreaterThan(20)
    expect(check.missing).toEqual([])
    expect(check.extra).toEqual([])
  })
})
