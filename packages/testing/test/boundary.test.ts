import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const packagesDir = fileURLToPath(new URL('../../', import.meta.url))

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return sourceFiles(path)
    return name.endsWith('.ts') ? [path] : []
  })
}

describe('the testing package stays out of what ships', () => {
  const others = readdirSync(packagesDir).filter((name) => name !== 'testing')

  it('no package src imports @provsync/testing', () => {
    const offenders = others.flatMap((name) =>
      sourceFiles(join(packagesDir, name, 'src')).filter((file) =>
        /from '@provsync\/testing'|import\('@provsync\/testing'\)/.test(readFileSync(file, 'utf8')),
      ),
    )
    expect(others.length).toBeGreaterThan(5)
    expect(offenders).toEqual([])
  })

  it('packages list it under devDependencies only, and it is never published', () => {
    const manifest = (name: string) =>
      JSON.parse(readFileSync(join(packagesDir, name, 'package.json'), 'utf8'))
    expect(others.filter((name) => manifest(name).dependencies?.['@provsync/testing'] !== undefined)).toEqual(
      [],
    )
    expect(manifest('testing').private).toBe(true)
  })
})
