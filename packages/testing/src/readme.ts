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

const DECLARATION = /^(?:export )?(?:declare )?(?:async )?(function|interface|type|class|const|let|enum) /

/**
 * Names the block declares at its top level (lines that do not start with a space), statement by
 * statement (`;` separates them): `export function a`, `interface B`, `const C = 1, D`, `class E,
 * F`, and calls written as signatures, `g(x): T, h(y)`. Indented lines (members, continuations)
 * and `//` comments declare nothing.
 */
export function declaredNames(block: string): string[] {
  const names = new Set<string>()
  for (const raw of block.split('\n')) {
    if (raw === '' || /^\s/.test(raw)) continue
    for (const statement of topLevel(raw.replace(/(^|\s)\/\/.*$/, '')).split(';')) {
      const text = statement.trim()
      const declaration = DECLARATION.exec(text)
      const rest = declaration ? text.slice(declaration[0].length) : text
      if (!declaration) {
        for (const [, name] of rest.matchAll(/(?:^|[,·])\s*(\w+)\(/g)) names.add(name!)
      } else if (['const', 'let', 'class'].includes(declaration[1]!)) {
        for (const [, name] of rest.matchAll(/(?:^|,)\s*(\w+)/g)) names.add(name!)
      } else {
        const name = /^\w+/.exec(rest)?.[0]
        if (name) names.add(name)
      }
    }
  }
  return [...names].sort()
}

/** `line` with everything inside brackets blanked out, brackets kept: `f(a, b), g()` → `f(), g()`. */
function topLevel(line: string): string {
  let depth = 0
  let out = ''
  for (const char of line) {
    if ('([{<'.includes(char)) {
      if (depth === 0) out += char
      depth++
    } else if (')]}>'.includes(char) && depth > 0) {
      depth--
      if (depth === 0) out += char
    } else if (depth === 0) out += char
  }
  return out
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

/**
 * Every name the module at `path` exports, following `export * from './x.js'` into `x.ts` beside
 * it (sync's index re-exports its light `stream` entry whole).
 */
export function moduleExports(path: string, read: (path: string) => string): string[] {
  const source = read(path)
  const names = new Set(exportedNames(source))
  const dir = path.slice(0, path.lastIndexOf('/') + 1)
  for (const [, target] of source.matchAll(/^export \* from '\.\/([\w/-]+)\.js'/gm)) {
    for (const name of moduleExports(`${dir}${target}.ts`, read)) names.add(name)
  }
  return [...names].sort()
}

/** Compares the README's API block with `src/index.ts`, both found from `packageDir` (a file URL). */
export function checkReadmeApi(packageDir: URL): ApiCheck {
  const read = (path: string): string => readFileSync(new URL(path, packageDir), 'utf8')
  const block = apiBlock(read('README.md'))
  const exported = moduleExports('src/index.ts', read)
  const exportedSet = new Set(exported)
  return {
    exported,
    block,
    missing: exported.filter((name) => !new RegExp(`\\b${name}\\b`).test(block)),
    extra: declaredNames(block).filter((name) => !exportedSet.has(name)),
  }
}
