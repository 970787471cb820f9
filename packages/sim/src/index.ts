/**
 * @provsync/sim: the multi-node simulation harness. Real provsync nodes, a seeded workload,
 * scheduled or random faults, Byzantine peers, a checker that proves convergence and that nothing
 * was lost, and a report (JSON and an SVG chart).
 */
export {
  BYZANTINE_BEHAVIOURS,
  type ByzantineBehaviour,
  type ByzantineNode,
  type ByzantineOptions,
  CAUGHT_BY,
  DEFAULT_BYZANTINE_BEHAVIOURS,
  type Equivocation,
  type ForgedRecords,
  forgeRecords,
  type LyingState,
  lyingState,
  type ServedRecord,
  servedTo,
  startByzantine,
} from './byzantine.js'
export {
  type Acknowledgement,
  type ByzantineExpectation,
  type CheckInput,
  type CheckResult,
  checkAcknowledged,
  checkByzantine,
  checkEquivocations,
  checkHistoryPrefix,
  checkInvariants,
  checkLedgers,
  checkRevokedProvenance,
  checkSameRoots,
  checkSameView,
  DEFAULT_FORGERY_REASONS,
  type EquivocationEvidence,
  formatCheck,
  type HistorySnapshot,
  INVARIANTS,
  type InvariantName,
  type LedgerLine,
  type NodeSnapshot,
  type Refusal,
  STORES,
  type StoreName,
  type ViewEntry,
  type Violation,
} from './checker.js'
export type { ChildCommand, ChildConfig } from './child.js'
export { type CliIo, formatProtocolBytes, main, scenariosFromArgs, USAGE } from './cli.js'
export {
  type Cluster,
  type ClusterNode,
  createCluster,
  DEFAULT_SIM_SYNC,
  type Received,
  seedIdentity,
  type Transport,
} from './cluster.js'
export { type CrashTrialOptions, type CrashTrialResult, runCrashTrial } from './crash.js'
export { ScenarioConfigError, SimError } from './errors.js'
export {
  applyFault,
  bridged,
  type FaultEvent,
  type FaultPlan,
  HEALTHY,
  halves,
  isolating,
  type LinkFault,
  type LinkState,
  lastHealMs,
  linkFault,
  linkKey,
  NO_FAULT,
  type RandomFaultOptions,
  randomFaultPlan,
  reachable,
  stateAt,
  validateFaultPlan,
} from './faults.js'
export {
  createMemoryNetwork,
  enforcePartition,
  GIVE_UP_MS,
  INITIAL_RTO_MS,
  type LinkCounters,
  LinkResetError,
  type LinkTable,
  linkGater,
  MAX_RETRANSMISSIONS,
  type MemoryNetwork,
} from './links.js'
export {
  createNamespaces,
  type Namespaces,
  NetnsError,
  type NetnsSupport,
  netnsAddress,
  probeNetns,
} from './netns.js'
export { createRng, InvalidRngArgumentError, type Rng } from './prng.js'
export { type NodeProcess, NodeProcessError, spawnNodeProcess } from './process.js'
export {
  type NetnsScenarioOptions,
  type ProcessScenarioOptions,
  type ProcessScenarioResult,
  runNetnsScenario,
  runProcessScenario,
} from './process-scenario.js'
export {
  type AppliedEvent,
  describeFault,
  type EquivocationReport,
  type LinkReport,
  type NodeTraffic,
  renderChart,
  reportJson,
  type Sample,
  type SimReport,
} from './report.js'
export {
  type ByzantineScenario,
  type Progress,
  runScenario,
  type ScenarioOptions,
  type ScenarioResult,
  scratchDir,
  validateScenario,
} from './scenario.js'
export { rootTriple, snapshotHistory, snapshotNode } from './snapshot.js'
export {
  runSoak,
  type SoakFullDisk,
  type SoakNodeMemory,
  type SoakOptions,
  type SoakResult,
} from './soak.js'
export {
  createProtocolTraffic,
  type ProtocolBytes,
  type ProtocolTraffic,
  sumProtocolBytes,
} from './traffic.js'
export {
  type CoordinateSpec,
  DEFAULT_MIX,
  type OperatorOp,
  planWorkload,
  type SupersedeOp,
  type VerifyOp,
  validateWorkload,
  type WorkloadMix,
  type WorkloadOp,
  type WorkloadOptions,
} from './workload.js'
