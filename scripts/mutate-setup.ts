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
import fc from 'fast-check'
import { test } from 'vitest'

test('the test file loads', () => {})

// Property tests draw the same inputs in the dry run and in every mutant's run. Stryker takes a
// mutant's covering tests from the dry run's per-test coverage, and its incremental mode reruns a
// mutant that did not die when a test newly covers it: with a random seed per run, a property that
// reached a line in one dry run and not in the next made session.ts's `count < LEAF_LIST_MAX`
// rerun on a fresh clone (session 10), and a mutant's own run could miss the line its coverage
// was measured on.
fc.configureGlobal({ ...fc.readConfigureGlobal(), seed: 0x5eed })
