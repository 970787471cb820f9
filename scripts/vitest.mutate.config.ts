// The vitest configuration `npm run mutate` runs (scripts/mutate.mjs): the repository's, with the
// test files limited to MUTATE_TEST_INCLUDE (globs, one per line) when a test selection is asked
// for. The selection is made here and not with Stryker's `testFiles` option: with `testFiles`,
// Stryker activates static mutants (module-level code) only after the modules are loaded, so none
// of them can be killed and every one counts as survived.
import { defineConfig } from 'vitest/config'
import base from '../vitest.config.ts'

const include = process.env.MUTATE_TEST_INCLUDE?.split('\n').filter((glob) => glob.length > 0)

export default include === undefined || include.length === 0
  ? base
  : defineConfig({ ...base, test: { ...base.test, include } })
