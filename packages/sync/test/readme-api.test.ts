import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

const read = (path: string): string => readFileSync(new URL(path, import.meta.url), 'utf8')

/** Every name `src/index.ts` exports: re-exports (`export { a, type B } from`) and declarations. */
export function exportedNames(source: string): string[] {
  const names = new Set<string>()
  for (const [, list] of source.matchAll(/export (?:type )?\{([^}]*)\}/g)) {
    for (const item of list!.split(',')) {
      const name = item
        .trim()
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/)
        .pop()
      if (name) names.add(name)
    }
  }
  for (const [, name] of source.matchAll(
    /^export (?:async )?(?:function|const|class|interface|type) (\w+)/gm,
  )) {
    names.add(name!)
  }
  return [...names].sort()
}

/** The first ```ts block under the README's `## API` heading. */
export function apiBlock(readme: string): string {
  const section = readme.split(/^## API\s*$/m)[1] ?? ''
  return /```ts\n([\s\S]*?)```/.exec(section)?.[1] ?? ''
}

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
    const block = apiBlock(read('../README.md'))
    expect(block.length).toBeGreaterThan(0)
    const exported = exportedNames(read('../src/index.ts'))
    expect(exported.length).toBeGreaterThan(30)
    const missing = exported.filter((name) => !new RegExp(`\\b${name}\\b`).test(block))
    expect(missing).toEqual([])
  })

  it('lists nothing the package does not export', () => {
    const exported = new Set(exportedNames(read('../src/index.ts')))
    const declared = [
      ...apiBlock(read('../README.md')).matchAll(/export (?:function|interface|type|class|const) ([\w, ]+)/g),
    ].flatMap(([, names]) => names!.split(',').map((n) => n.trim().split(' ')[0]!))
    expect(declared.filter((name) => !exported.has(name))).toEqual([])
  })
})
