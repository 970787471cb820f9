/** The prefix of a temporary directory when the caller names none. */
export const DEFAULT_TEMP_PREFIX = 'provsync-test-'

/** How long {@link waitFor} and {@link eventually} poll before they fail, in ms. */
export const DEFAULT_WAIT_TIMEOUT_MS = 20_000

/** Between two polls, in ms: short enough that a test sees a change within a few ms of it. */
export const DEFAULT_POLL_INTERVAL_MS = 25

/** The network id of test records and nodes when the caller names none. */
export const TEST_NETWORK = 'test-net'

/** A fixed wall clock well inside the drift guard of the real one (2026-01-01). */
export const BASE_MS = Date.UTC(2026, 0, 1)

/** The last byte of a {@link signerN} seed when the caller names none. */
export const DEFAULT_SIGNER_TAG = 0x5a
