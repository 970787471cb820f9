/** Base class of the harness's own failures, so callers can catch them together. */
export class SimError extends Error {
  override name = 'SimError'
}

/** A scenario, workload or fault plan that cannot run as written. */
export class ScenarioConfigError extends SimError {
  override name = 'ScenarioConfigError'
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`)
  }
}
