import { describe, expect, it } from 'vitest'
import { apiBlock, declaredNames, exportedNames, moduleExports } from '../src/index.js'

describe('README API check', () => {
  it('finds names in export lists and declarations', () => {
    const source =
      "export { a, type B, c as D } from './x.js'\nexport type { G } from './y.js'\nexport function e() {}\nexport interface F {}\n"
    expect(exportedNames(source)).toEqual(['B', 'D', 'F', 'G', 'a', 'e'])
  })

  it('follows export * into the module beside it, and further', () => {
    const files: Record<string, string> = {
      'src/index.ts': "export * from './light.js'\nexport { a } from './a.js'\n",
      'src/light.ts': "export { b } from './b.js'\nexport * from './deep/more.js'\n",
      'src/deep/more.ts': 'export const c = 1\n',
    }
    expect(moduleExports('src/index.ts', (path) => files[path]!)).toEqual(['a', 'b', 'c'])
  })

  it('takes the first ts block under ## API, and only that', () => {
    const readme =
      '# x\n```ts\nbefore()\n```\n## API\n\n```ts\nexport function aa()\n```\n```ts\nafter()\n```\n'
    const block = apiBlock(readme)
    expect(block).toBe('export function aa()\n')
    expect(apiBlock('# x\n```ts\na()\n```\n')).toBe('')
  })

  it('reads top-level declarations and signatures, not members, arguments or comments', () => {
    const block = [
      'export function a(x: B): C; export interface D',
      'const E = 1, F = { g: 2 }',
      'interface H { i(): J }',
      'k(l, m(n)): O, p() · pp(x)    // q(), r',
      '  s(t): U',
      'type V = W',
      'export const X, Y; export class Z, ZZ   // export const NOT',
    ].join('\n')
    expect(declaredNames(block)).toEqual(['D', 'E', 'F', 'H', 'V', 'X', 'Y', 'Z', 'ZZ', 'a', 'k', 'p', 'pp'])
  })
})
