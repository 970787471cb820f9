/**
 * The scoped-session figure alone at a chosen size, for runs too long to repeat with the whole
 * suite: `node --import tsx packages/artifacts/bench/scoped-full.ts [scopes] [perScope]`.
 */
import { scopedSessionBytes } from './sync-bench.js'

const scopes = Number(process.argv[2] ?? 100)
const perScope = Number(process.argv[3] ?? 10_000)
const started = performance.now()
const result = await scopedSessionBytes(scopes, perScope, 10)
console.log(
  JSON.stringify({
    scopes,
    perScope,
    ...result,
    ratio: result.withAll / result.alone,
    buildAndRunSeconds: (performance.now() - started) / 1000,
  }),
)
