// The vitest configuration `npm run mutate` runs (scripts/mutate.mjs): the repository's, with the
// test files limited to MUTATE_TEST_INCLUDE (globs, one per line) when a test selection is asked
// for, and one reporter more (below). The selection is made here and not with Stryker's
// `testFiles` option: with `testFiles`, Stryker activates static mutants (module-level code) only
// after the modules are loaded, so none of them can be killed and every one counts as survived.

import { basename } from 'node:path'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'
import {
  BaseSequencer,
  type Reporter,
  type TestModule,
  type TestSpecification,
  type Vitest,
} from 'vitest/node'
import base from '../vitest.config.ts'

const toArray = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value]
const include = process.env.MUTATE_TEST_INCLUDE?.split('\n').filter((glob) => glob.length > 0)
/** Test file names (basenames), cheapest first: the order a mutant's covering test files run in. */
const order = process.env.MUTATE_TEST_ORDER?.split('\n').filter((name) => name.length > 0) ?? []

/**
 * Runs the test files in the order MUTATE_TEST_ORDER gives (files it does not name last, in
 * vitest's order). Stryker's vitest runner stops a mutant at its first failing test (bail 1) and
 * runs one file at a time, while vitest's own sequencer runs the files that failed last first and
 * then the longest first: merkle's slowest suite (salted-session.semantics, 32 s of its 50 s)
 * then ran before the 1-3 s suites that kill most session mutants, for every such mutant.
 */
class CheapestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files)
    if (order.length === 0) return sorted
    const rank = (spec: TestSpecification) => {
      const at = order.indexOf(basename(spec.moduleId))
      return at < 0 ? order.length : at
    }
    return sorted
      .map((spec, i) => ({ spec, i }))
      .sort((a, b) => rank(a.spec) - rank(b.spec) || a.i - b.i)
      .map(({ spec }) => spec)
  }
}

/**
 * A test file that fails to load (a static mutant made a module throw at import, e.g. merkle's
 * level-schedule check in path.ts) collects no test, and Stryker's vitest runner, which builds a
 * mutant's result from the tests it collected, then counts the mutant as survived
 * (stryker-js#6150, in 9.6.1 and 10.0.0). This reporter gives each such file one failed test
 * carrying its load error, so the mutant counts as killed. A file that loaded is left alone.
 */
function loadFailuresAsFailedTests(): Reporter {
  let vitest: Vitest | undefined
  return {
    onInit(ctx) {
      vitest = ctx
    },
    onTestRunEnd(_modules: ReadonlyArray<TestModule>) {
      for (const file of vitest?.state.getFiles() ?? []) {
        if (file.result?.state !== 'fail' || file.tasks.length > 0) continue
        const errors = file.result.errors ?? [{ message: 'the test file failed to load' }]
        // A minimal test task: what the runner reads (name, file, suite, mode, result).
        file.tasks.push({
          type: 'test',
          id: `${file.id}_load`,
          name: 'the test file loads',
          mode: 'run',
          file,
          // No suite, as a test at the top of a file: Stryker names a test by its suites' names and
          // its own, so this one is 'the test file loads', the name of the test mutate-setup.ts adds
          // to every file in the dry run (with the file as its suite, the path would lead the name).
          suite: undefined,
          meta: {},
          result: { state: 'fail', errors, duration: 0 },
        } as unknown as (typeof file.tasks)[number])
      }
    },
  }
}

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    ...(include === undefined || include.length === 0 ? {} : { include }),
    // Instrumented code under load: a merkle test passed the 30 s timeout in a dry run at load 26
    // (17:18), which aborts the whole run. A mutant that hangs is still stopped by Stryker's own
    // timeout (1.5 × its tests' time + timeoutMS), well before this one.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default', loadFailuresAsFailedTests()],
    // Gives each test file the passing twin of the reporter's load-failure test (see the file).
    setupFiles: [
      ...toArray(base.test?.setupFiles),
      fileURLToPath(new URL('./mutate-setup.ts', import.meta.url)),
    ],
    sequence: { ...base.test?.sequence, sequencer: CheapestFirst },
  },
})
