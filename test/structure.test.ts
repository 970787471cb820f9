/**
 * The structure checks of issue #13 that grep can make, kept in `npm test`: no package reaches into
 * another's internals (no import of another package's `src/` or `dist/`, no undeclared subpath, no
 * relative path out of the package), no private-field access into libp2p or lmdb-js objects (no
 * `any`, no cast to an object type to write a field, no method of a foreign object replaced), and
 * no package reading another's files (LMDB data files, identity key, node.json, LMDB environments).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../', import.meta.url))
const PACKAGES = readdirSync(join(ROOT, 'packages')).filter((name) =>
  statSync(join(ROOT, 'packages', name, 'package.json'), { throwIfNoEntry: false })?.isFile(),
)

/** `.ts` files below `dir` (relative to the repo root), generated code and build output left out. */
function tsFiles(dir: string): string[] {
  const abs = join(ROOT, dir)
  if (statSync(abs, { throwIfNoEntry: false })?.isDirectory() !== true) return []
  return readdirSync(abs, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.endsWith('.generated.ts'))
    .filter((f) => !f.split(sep).some((part) => part === 'node_modules' || part === 'dist'))
    .map((f) => join(dir, f))
}

/** Code a package ships or runs: its src, examples and benches, and the repo's examples and benches. */
const SHIPPED = [
  ...PACKAGES.flatMap((p) => ['src', 'examples', 'bench'].flatMap((d) => tsFiles(`packages/${p}/${d}`))),
  ...tsFiles('examples'),
  ...tsFiles('bench'),
]
/** Every file whose imports are checked: shipped code and every test. */
const ALL = [...SHIPPED, ...PACKAGES.flatMap((p) => tsFiles(`packages/${p}/test`)), ...tsFiles('test')]

/**
 * `source` with comments blanked out (newlines kept, so line numbers hold); strings are kept.
 * A lexer of quotes and comments only: enough for this repo's code.
 */
function stripComments(source: string): string {
  let out = ''
  let i = 0
  let quote: string | undefined
  while (i < source.length) {
    const c = source[i]!
    const next = source[i + 1]
    if (quote !== undefined) {
      out += c
      if (c === '\\') out += source[++i] ?? ''
      else if (c === quote) quote = undefined
      i++
    } else if (c === '/' && next === '/') {
      while (i < source.length && source[i] !== '\n') {
        out += ' '
        i++
      }
    } else if (c === '/' && next === '*') {
      const end = source.indexOf('*/', i + 2)
      const stop = end < 0 ? source.length : end + 2
      out += source.slice(i, stop).replace(/[^\n]/g, ' ')
      i = stop
    } else {
      if (c === "'" || c === '"' || c === '`') quote = c
      out += c
      i++
    }
  }
  return out
}

interface Finding {
  readonly file: string
  readonly line: number
  readonly text: string
}

const code = new Map<string, string>()
const codeOf = (file: string) => {
  let text = code.get(file)
  if (text === undefined) code.set(file, (text = stripComments(readFileSync(join(ROOT, file), 'utf8'))))
  return text
}

/** Every match of `pattern` (global) in the code of `files`, as file, line and matched text. */
function find(files: readonly string[], pattern: RegExp): Finding[] {
  return files.flatMap((file) => {
    const text = codeOf(file)
    return [...text.matchAll(pattern)].map((m) => ({
      file,
      line: text.slice(0, m.index).split('\n').length,
      text: m[0].trim(),
    }))
  })
}

const packageOf = (file: string) => (file.startsWith('packages/') ? file.split('/')[1] : undefined)

/** The import specifiers of a file, with their lines. */
const imports = (file: string) =>
  find([file], /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)(['"])([^'"]+)\1/gm).map((f) => ({
    ...f,
    specifier: f.text.replace(/^.*(['"])(.+)\1$/, '$2'),
  }))

function declaredSubpaths(pkg: string): Set<string> {
  const json = JSON.parse(readFileSync(join(ROOT, 'packages', pkg, 'package.json'), 'utf8'))
  const exportsField = json.exports ?? {}
  return new Set(
    typeof exportsField === 'string' ? ['.'] : Object.keys(exportsField).filter((k) => k.startsWith('.')),
  )
}

/**
 * Function properties assigned on an object the module did not make, each with why it stays:
 * everything else assigning a function to `x.y` (not `this.y`) fails the check.
 */
const METHOD_ASSIGNMENTS_KEPT: ReadonlyArray<{ file: string; property: string; why: string }> = [
  {
    file: 'packages/artifacts/src/store/apply.ts',
    property: 'allows',
    why: "a per-batch memo over artifacts' own Authority (Object.create of it in the same function)",
  },
  {
    file: 'packages/artifacts/src/store/apply.ts',
    property: 'minEpoch',
    why: 'the same memo',
  },
  {
    file: 'packages/blobs/bench/mux-probe.ts',
    property: 'send',
    why: "a probe (not shipped in any package's dist): counts each transport write of ours and chainsafe's muxer alike, which only their shared `send` sees",
  },
  {
    file: 'packages/sim/src/traffic.ts',
    property: 'dispatchEvent',
    why:
      'libp2p hands each stream to a Metrics implementation (trackProtocolStream) before its handler runs; a ' +
      "'message' listener there takes the bytes of a handler that reads late (sim's traffic.test.ts fails with " +
      "one), so it wraps dispatchEvent as libp2p's own @libp2p/prometheus-metrics does; no public event counts bytes",
  },
]

/** File names of a package's own on-disk formats: only the owner names them. */
const OWNED_FILE_NAMES: ReadonlyArray<{ name: RegExp; owner: string }> = [
  { name: /['"`]identity\.key['"`]/g, owner: 'sync' },
  { name: /['"`]node\.json['"`]/g, owner: 'cli' },
]

/** Packages that keep an LMDB environment of their own; nobody else opens one or names its files. */
const LMDB_OWNERS = new Set(['artifacts', 'blobs', 'crdt', 'merkle', 'sim'])

const show = (findings: readonly Finding[]) => findings.map((f) => `${f.file}:${f.line}: ${f.text}`)

describe('structure (issue #13)', () => {
  it('finds the files it checks', () => {
    expect(PACKAGES.length).toBeGreaterThanOrEqual(9)
    expect(SHIPPED.filter((f) => f.includes('/src/')).length).toBeGreaterThan(150)
    expect(ALL.length).toBeGreaterThan(SHIPPED.length)
  })

  it('imports no package through its src/ or dist/, nor a subpath it does not export', () => {
    const bad = ALL.flatMap((file) =>
      imports(file).filter(({ specifier }) => {
        const m = /^@provsync\/([a-z0-9-]+)(\/.*)?$/.exec(specifier)
        if (m === null) return /\/dist\//.test(specifier) && !specifier.startsWith('.')
        if (m[2] === undefined) return false
        return /^\/(src|dist)(\/|$)/.test(m[2]) || !declaredSubpaths(m[1]!).has(`.${m[2]}`)
      }),
    )
    expect(show(bad)).toEqual([])
  })

  // The repo's own tests (test/: frozen vectors, fuzz targets, CLI) and benches (bench/suites: the
  // soak that spans merkle, sync and sim) test formats across packages and are no package: exempt.
  it('reaches no other package by a relative path', () => {
    const bad = ALL.filter((file) => packageOf(file) !== undefined).flatMap((file) =>
      imports(file).filter(({ specifier }) => {
        if (!specifier.startsWith('.')) return false
        const target = relative(ROOT, resolve(ROOT, file, '..', specifier))
          .split(sep)
          .join('/')
        const from = packageOf(file)
        return target.startsWith('packages/') && packageOf(target) !== from
      }),
    )
    expect(show(bad)).toEqual([])
  })

  it('casts nothing to any, and writes no field through a cast', () => {
    expect(show(find(SHIPPED, /\bas\s+any\b|<any>|:\s*any(?=\s*(?:[,;)=>|&\]]|\[\]|$))/gm))).toEqual([])
    expect(show(find(SHIPPED, /\bas\s+unknown\s+as\s+\{/g))).toEqual([])
    // `(x as { field: T }).field = value`: a field reached by a cast, then written.
    expect(show(find(SHIPPED, /\(\s*[\w$.]+\s+as\s+[^()]*\)\s*\.\s*[\w$]+\s*=(?![=>])/g))).toEqual([])
  })

  it("reads no private field of libp2p's or lmdb-js's objects", () => {
    // lmdb-js's transaction internals, libp2p's raw connection under a Connection, the registrar's
    // topologies, a components object cast to reach what it does not declare, `_`-prefixed fields.
    const pattern = /\.\s*(?:writeTxn|readTxn|maConn|topologies)\b|\bcomponents\s+as\b|\.\s*_[A-Za-z]\w*/g
    expect(show(find(SHIPPED, pattern))).toEqual([])
  })

  it('replaces no method of an object from another package', () => {
    const assigned = find(
      SHIPPED,
      /(?<![\w$.])(?!this\b)[A-Za-z_$][\w$]*(?:\.[\w$]+)*\.([\w$]+)\s*=\s*(?:async\s+)?(?:\([^()]*\)\s*(?::[^=]+)?=>|[\w$]+\s*=>|function\b|[\w$.]+\.bind\()/g,
    ).map((f) => ({ ...f, property: /\.([\w$]+)\s*=[^=]*$/.exec(f.text.split('=')[0] + '=')?.[1] ?? '' }))
    const kept = (f: { file: string; property: string }) =>
      METHOD_ASSIGNMENTS_KEPT.some((k) => k.file === f.file && k.property === f.property)
    expect(show(assigned.filter((f) => !kept(f)))).toEqual([])
    // Every exception still names a real assignment: a fixed one leaves the list.
    const stale = METHOD_ASSIGNMENTS_KEPT.filter(
      (k) => !assigned.some((f) => f.file === k.file && f.property === k.property),
    )
    expect(stale).toEqual([])
  })

  it("names no other package's files and opens no LMDB environment of another package", () => {
    const named = OWNED_FILE_NAMES.flatMap(({ name, owner }) =>
      find(
        SHIPPED.filter((f) => packageOf(f) !== owner && packageOf(f) !== undefined),
        name,
      ),
    )
    // LMDB's own file names: only a package with an environment of its own names them.
    const lmdbFiles = find(
      SHIPPED.filter((f) => !LMDB_OWNERS.has(packageOf(f) ?? '') && packageOf(f) !== undefined),
      /['"`](?:data|lock)\.mdb['"`]/g,
    )
    expect(show([...named, ...lmdbFiles])).toEqual([])
    const lmdb = SHIPPED.filter((f) => f.includes('/src/') && !LMDB_OWNERS.has(packageOf(f) ?? '')).flatMap(
      (file) => imports(file).filter(({ specifier }) => specifier === 'lmdb'),
    )
    expect(show(lmdb)).toEqual([])
  })

  it('strips comments but keeps strings and lines', () => {
    const text = 'a // as any\n/* as\nany */ b = \'//\' + "/*" // x\n'
    const stripped = stripComments(text)
    expect(stripped.split('\n')).toHaveLength(4)
    expect(stripped).not.toMatch(/as any|as\nany/)
    expect(stripped).toContain('b = \'//\' + "/*"')
  })
})
