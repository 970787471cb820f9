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

/** A node thread of a threaded run (`ScenarioOptions.threads`) failed: it threw, exited, or a request to it failed. */
export class NodeThreadError extends SimError {
  override name = 'NodeThreadError'
  constructor(
    /** The thread's number (it hosts the nodes whose index is this modulo the thread count). */
    readonly thread: number,
    /** What failed there: the thrown error's name, message and stack, or the exit code. */
    readonly reason: string,
  ) {
    super(`node thread ${thread} failed: ${reason}`)
  }
}
