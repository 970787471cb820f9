// A vitest setup file of `npm run mutate` only (scripts/vitest.mutate.config.ts): every test file
// gets one test more, named as the failed test that reporter gives a file that fails to load.
//
// Why: a static mutant that makes a module throw at import (merkle's level-schedule check in
// path.ts, the hasher's width in hash.ts) is killed by that failed test, which the dry run never
// saw, so Stryker's report kept no killing test for it (`killedBy: []`), and its incremental mode
// reruns a killed mutant unless one of its killing tests is found unchanged: those 9 mutants reran
// on every incremental merkle run (the clone check of session 9). With this test in the dry run,
// the load failure names a test the next run finds again (same file, same name), and the result is
// reused. Registered here, before the file's imports; a file that fails to load loses it with its
// other tests, and the reporter's failed test takes its place.
import { test } from 'vitest'

test('the test file loads', () => {})
