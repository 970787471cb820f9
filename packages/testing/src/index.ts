/**
 * @provsync/testing: what provsync's tests, examples and benches share, written once. Private:
 * packages list it under devDependencies only, and no `src/` imports it.
 */

export { type AlternatedTimes, cpuMicrosSince, perRecord, timeAlternating } from './bench.js'
export { BASE_MS, DEFAULT_SIGNER_TAG, TEST_NETWORK } from './constants.js'
export {
  createLibp2pWithProvsync,
  type LoopbackTransportOptions,
  loopbackTransport,
  type ProvsyncLibp2p,
  type ProvsyncLibp2pOptions,
  type TransportConfig,
} from './libp2p.js'
export {
  FAST_SYNC,
  QUIET_SYNC,
  rootsEqual,
  startTestNode,
  stopAll,
  type TestNodeOptions,
  TestNodes,
} from './nodes.js'
export { fillNoise, fillNoiseWords, mulberry32, noiseBytes, xorshift32 } from './prng.js'
export {
  type ApiCheck,
  apiBlock,
  checkReadmeApi,
  declaredNames,
  exportedNames,
  moduleExports,
} from './readme.js'
export {
  assertionBytes,
  coordinate,
  hlc,
  load,
  openIdentityState,
  openTestState,
  revocationBytes,
  type SignedAssertionsOptions,
  type SupersessionOptions,
  signedAssertions,
  supersessionBytes,
} from './records.js'
export { hash32, hex, seedN, signerN } from './signers.js'
export { type Closeable, TempDirs, tempDir } from './temp.js'
export { eventually, sleep, type WaitOptions, waitFor } from './wait.js'
