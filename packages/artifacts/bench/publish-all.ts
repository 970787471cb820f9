/**
 * `publish_to_all_ms` alone: `node --import tsx packages/artifacts/bench/publish-all.ts [nodes] [rounds]`
 * (8 nodes in a ring on loopback TCP, one publication per round from node `round % n`).
 */
import { publishToAll } from './sync-bench.js'

const nodes = Number(process.argv[2] ?? 8)
const rounds = Number(process.argv[3] ?? 30)
console.log(JSON.stringify({ nodes, rounds, ...(await publishToAll(nodes, rounds)) }))
