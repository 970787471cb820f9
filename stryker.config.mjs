// @ts-check
// Mutation testing of the pure cores (issue #18). Run it with `npm run mutate [-- <package> [file...]]`
// (scripts/mutate.mjs), which sets `mutate`, `vitest.dir` and the report path per package; this file
// holds what every package shares. Equivalent mutants are marked in the source with a
// `// Stryker disable next-line <mutator>: <reason>` comment, never excluded here.

/** The pure cores, per package: the files `npm run mutate` mutates. */
export const PURE_CORES = {
  hlc: ['packages/hlc/src/*.ts', '!packages/hlc/src/index.ts'],
  merkle: [
    'packages/merkle/src/{bits,bucket-codec,canonical,node-codec,path,reconcile,session,wire,hash,bytes}.ts',
    // protocol 2 (salted fingerprints): the fingerprint function, its wire format, its session, and
    // the version dispatch between the two sessions.
    'packages/merkle/src/{fingerprint,salted-wire,salted-session,versioned-session}.ts',
    // the session core both protocols' sessions share (issue #13 moved it out of session.ts and
    // salted-session.ts): its states, the responder's key stream and the shared parts.
    'packages/merkle/src/{session-core,key-stream,session-parts}.ts',
  ],
  crdt: [
    'packages/crdt/src/{view,gate,criteria,assertions,supersessions,bytes,keys}.ts',
    'packages/crdt/src/codec/*.ts',
    'packages/crdt/src/ledger.ts',
  ],
  sync: ['packages/sync/src/{budget,claims,pull-queue,announce,framing}.ts'],
  sim: ['packages/sim/src/checker.ts'],
}

/**
 * Test files per package, where a package's whole suite is not the one to run. sync's suite is
 * mostly libp2p integration tests over TCP, which cover none of its pure cores' branches the unit
 * tests miss and would make every mutant of a static line cost minutes. For the pure modules, their
 * own unit tests are the package's tests. A package not listed runs its whole suite.
 */
export const PURE_CORE_TESTS = {
  // merkle: the suites of the pure modules and the session suites; the reconciliation runs on
  // in-memory trees (test/memory-tree.ts) in session-core and session-refusals. Left out: the
  // LMDB tree's own suites (tree, model, snapshot, session-reads: tree.ts is not a pure core), the
  // LMDB twins of the session suites (reconcile.test, lying-peer: a session over LMDB trees of
  // 3,000-20,000 keys, seconds per mutant), examples and the README check.
  merkle: [
    'packages/merkle/test/{hash,node-codec,wire}.test.ts',
    'packages/merkle/test/{bytes,canonical,codecs,fingerprint,path,path-range,salted-wire,vectors,wire}.semantics.test.ts',
    'packages/merkle/test/{session,reconcile,session-core,session-refusals,session-budget,salted-session}.semantics.test.ts',
    // Written for run O's survivors (session 10): the key stream's skipped subtrees, protocol 2's leaf lists.
    'packages/merkle/test/{key-stream,salted-leaves}.semantics.test.ts',
  ],
  sync: [
    'packages/sync/test/{budget,claims,pull-queue,announce,framing}.test.ts',
    'packages/sync/test/{budget,claims,pull-queue,framing}.semantics.test.ts',
  ],
  // crdt: the suites that pin its pure cores (the semantics suites, the view, rule, supersession
  // tests). Its whole suite under Stryker did not finish its initial run (worker-thread
  // verification failing under instrumentation, then the 5 min dry-run timeout at load 25); the
  // LMDB property suites (`invalidations`, `codec`, `canonical`) were 40 % of the covered test
  // time and are the only tests of 5 of its 1,754 mutants. `schema` (0.3 s) pins the asserter
  // index (numbers that append, read back after a reopen), which assertions.ts writes;
  // `scan-assertion` pins `scanAssertion` (codec/records.ts) against the strict decoder.
  crdt: [
    'packages/crdt/test/*.semantics.test.ts',
    'packages/crdt/test/{view,rules,supersessions,supersessions-wall-time,schema,scan-assertion}.test.ts',
  ],
  // sim: the checker's own tests; the other suites run real clusters (3 min 36 s) for every mutant.
  sim: ['packages/sim/test/checker.test.ts', 'packages/sim/test/checker.semantics.test.ts'],
}

/**
 * The order a package's test files run in under `npm run mutate` (scripts/vitest.mutate.config.ts),
 * cheapest first: Stryker stops a mutant at its first failing test, one file at a time. merkle's
 * order is by the files' own time (vitest, 19:25, load 10: salted-wire.semantics 0.06 s ...
 * session-core.semantics 3.3 s, salted-session.semantics 32 s); files not named run after these.
 */
export const PURE_CORE_TEST_ORDER = {
  merkle: [
    'bytes.semantics.test.ts',
    'key-stream.semantics.test.ts',
    'salted-wire.semantics.test.ts',
    'wire.semantics.test.ts',
    'wire.test.ts',
    'path-range.semantics.test.ts',
    'path.semantics.test.ts',
    'hash.test.ts',
    'canonical.semantics.test.ts',
    'fingerprint.semantics.test.ts',
    'node-codec.test.ts',
    'vectors.semantics.test.ts',
    'codecs.semantics.test.ts',
    // 0.6 s: protocol 2's leaf lists, ahead of the suites that only reach them in passing.
    'salted-leaves.semantics.test.ts',
    'session.semantics.test.ts',
    'reconcile.semantics.test.ts',
    'session-refusals.semantics.test.ts',
    'session-core.semantics.test.ts',
    // 16,500 keys (about 4 s): only the message budget's mutants need it.
    'session-budget.semantics.test.ts',
    'salted-session.semantics.test.ts',
  ],
}

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
const config = {
  testRunner: 'vitest',
  coverageAnalysis: 'perTest',
  vitest: { configFile: 'vitest.config.ts', related: true },
  // The machine is shared: two test workers at most.
  concurrency: 2,
  timeoutMS: 20_000,
  reporters: ['json', 'clear-text', 'progress'],
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  // No type checker: a mutant that does not compile still runs under vitest (esbuild strips types).
  checkers: [],
  ignorePatterns: ['dist', 'reports', 'bench/results', 'coverage', '.provsync', '.scratch', 'sim-report'],
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
  thresholds: { high: 95, low: 90 },
}

export default config
