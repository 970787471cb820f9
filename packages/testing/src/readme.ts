import { readFileSync } from 'node:fs'

/** Every name a module's source exports: re-exports (`export { a, type B } from`) and declarations. */
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

/** The first ```ts block under the README's `## API` heading ('' when there is none). */
export function apiBlock(readme: string): string {
  const section = readme.split(/^## API\s*$/m)[1] ?? ''
  return /```ts\n([\s\S]*?)```/.exec(section)?.[1] ?? ''
}

/** What `export function|interface|type|class|const` lines of an API block declare. */
export function declaredNames(block: string): string[] {
  return [...block.matchAll(/export (?:function|interface|type|class|const) ([\w, ]+)/g)].flatMap(
    ([, names]) => names!.split(',').map((n) => n.trim().split(' ')[0]!),
  )
}

/** A package's README API block against its `src/index.ts` exports. */
export interface ApiCheck {
  exported: string[]
  block: string
  /** Exported, but not named (as a whole word) in the block. */
  missing: string[]
  /** Declared in the block, but not exported. */
  extra: string[]
}

/** Compares the README's API block with `src/index.ts`, both found from `packageDir` (a file URL). */
export function checkReadmeApi(packageDir: URL): ApiCheck {
  const read = (path: string): string => readFileSync(new URL(path, packageDir), 'utf8')
  const block = apiBlock(read('README.md'))
  const exported = exportedNames(read('src/index.ts'))
  const exportedSet = new Set(exported)
  return {
    exported,
    block,
    missing: exported.filter((name) => !new RegExp(`\\b${name}\\b`).test(block)),
    extra: declaredNames(block).filter((name) => !exportedSet.has(name)),
  }
}
