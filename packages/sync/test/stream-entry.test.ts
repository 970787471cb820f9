import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../../../', import.meta.url))

/**
 * Every module a fresh Node process resolves while importing `entry` (a path from the repository
 * root), as URLs: a resolve hook records them, tsx maps the sources' `.js` imports to `.ts`.
 */
function modulesLoadedBy(entry: string): string[] {
  const script = `
    import { registerHooks } from 'node:module'
    import { pathToFileURL } from 'node:url'
    const seen = new Set()
    registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); seen.add(r.url); return r } })
    await import(pathToFileURL(${JSON.stringify(entry)}).href)
    process.stdout.write(JSON.stringify([...seen]))
  `
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
  })
  expect(child.stderr).toBe('')
  return JSON.parse(child.stdout) as string[]
}

/** What a blob-only process must not pay for (session 11: the index adds ~31 MiB with them). */
const HEAVY = [
  /\/@libp2p\/gossipsub\//,
  /\/crdt\/(src|dist)\//,
  /\/node_modules\/libp2p\//,
  /\/sync\/src\/node\.ts$/,
]
const heavy = (urls: string[]) => urls.filter((url) => HEAVY.some((re) => re.test(url)))

describe('@provsync/sync/stream, the light entry', () => {
  it('the index loads gossipsub, crdt, libp2p and the node (the check sees them)', () => {
    const found = heavy(modulesLoadedBy('packages/sync/src/index.ts'))
    for (const re of HEAVY) expect(found.some((url) => re.test(url))).toBe(true)
  })

  it('loads none of them, nor any sync module outside its own graph', () => {
    const urls = modulesLoadedBy('packages/sync/src/stream.ts')
    expect(heavy(urls)).toEqual([])
    const own = urls.filter((url) => url.includes('/packages/sync/src/')).map((url) => url.split('/src/')[1])
    expect(own.sort()).toEqual([
      'admission.ts',
      'budget.ts',
      'deadline.ts',
      'errors.ts',
      'framed-conversation.ts',
      'framing.ts',
      'stream.ts',
      'trust.ts',
    ])
  })

  it('@provsync/blobs, which imports sync only through it, loads none of them either', () => {
    const urls = modulesLoadedBy('packages/blobs/src/index.ts')
    expect(heavy(urls)).toEqual([])
    expect(urls.some((url) => url.endsWith('/packages/sync/src/index.ts'))).toBe(false)
  })

  it('is the package export `./stream`, built from src/stream.ts', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
    expect(pkg.exports['./stream']).toEqual({ types: './dist/stream.d.ts', default: './dist/stream.js' })
  })
})
