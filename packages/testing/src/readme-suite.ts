import { describe, expect, it } from 'vitest'
import { checkReadmeApi } from './readme.js'

/**
 * Registers the README checks of the package at `packageDir` (a `file:` URL ending in `/`): the
 * `## API` block names every export of `src/index.ts` and declares nothing the package does not
 * export. `minExports` guards against a parser that silently finds nothing.
 */
export function describeReadmeApi(packageDir: URL, minExports: number): void {
  describe('README API block', () => {
    it('lists every export of the package', () => {
      const { block, exported, missing } = checkReadmeApi(packageDir)
      expect(block.length).toBeGreaterThan(0)
      expect(exported.length).toBeGreaterThanOrEqual(minExports)
      expect(missing).toEqual([])
    })

    it('declares nothing the package does not export', () => {
      expect(checkReadmeApi(packageDir).extra).toEqual([])
    })
  })
}
