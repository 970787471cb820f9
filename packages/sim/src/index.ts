/**
 * @provsync/sim: the multi-node simulation harness. Real provsync nodes, a seeded workload,
 * scheduled or random faults, Byzantine peers, a checker that proves convergence and that nothing
 * was lost, and a report (JSON and an SVG chart).
 */
export {
  type ArtifactInvariant,
  type ArtifactRunSnapshot,
  type ArtifactViolation,
  checkArtifactRun,
} from './artifact-checker.js'
export {
  type ArtifactScenarioOptions,
  type ArtifactScenarioResult,
  runArtifactScenario,
} from './artifact-scenario.js'
export { BYZANTINE_BEHAVIOURS, type ByzantineBehaviour, DEFAULT_BYZANTINE_BEHAVIOURS } from './byzantine.js'
export { type CheckResult, formatCheck, INVARIANTS, type InvariantName, type Violation } from './checker.js'
export { type CliIo, main, scenariosFromArgs, USAGE } from './cli.js'
export { DEFAULT_SIM_SYNC, type Transport } from './cluster.js'
export { type CrashTrialOptions, type CrashTrialResult, runCrashTrial } from './crash.js'
export { NodeThreadError, ScenarioConfigError, SimError } from './errors.js'
export type { FaultEvent, FaultPlan, LinkFault, RandomFaultOptions } from './faults.js'
export { LinkResetError } from './links.js'
export { NetnsError, type NetnsSupport, probeNetns } from './netns.js'
export { NodeProcessError } from './process.js'
export {
  type NetnsScenarioOptions,
  type ProcessScenarioOptions,
  type ProcessScenarioResult,
  runNetnsScenario,
  runProcessScenario,
} from './process-scenario.js'
export {
  type AppliedEvent,
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
  validateScenario,
} from './scenario.js'
export { exitAfterCleanUp, SIGNAL_EXIT_CODES, type StopSignal } from './scratch.js'
export {
  runSoak,
  type SoakFullDisk,
  type SoakNodeMemory,
  type SoakOptions,
  type SoakResult,
} from './soak.js'
export type { ProtocolBytes } from './traffic.js'
export {
  type CoordinateSpec,
  DEFAULT_MIX,
  type OperatorOp,
  type SupersedeOp,
  type VerifyOp,
  type WorkloadMix,
  type WorkloadOp,
} from './workload.js'
