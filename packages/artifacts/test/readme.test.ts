import { readFileSync } from 'node:fs'
import * as api from '@provsync/artifacts'
import { describe, expect, it } from 'vitest'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
const apiBlock = readme.slice(readme.indexOf('## API'), readme.indexOf('## What the sync layer calls'))

describe('README', () => {
  it('names every runtime export in its API block', () => {
    const missing = Object.keys(api).filter((name) => !new RegExp(`\\b${name}\\b`).test(apiBlock))
    expect(missing).toEqual([])
  })
})
