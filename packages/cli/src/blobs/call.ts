/** A control call as the blob methods see it: progress out, abort in. */
export interface MethodCall {
  progress: (stage: string, done: number, total: number) => void
  signal: AbortSignal | undefined
}

/** Progress at most every 250 ms: a 1 GiB transfer sends a few hundred lines, not thousands. */
export function throttled(call: MethodCall, stage: string, total: number): (done: number) => void {
  let last = 0
  return (done) => {
    const now = Date.now()
    if (now - last < 250 && done < total) return
    last = now
    call.progress(stage, done, total)
  }
}

/**
 * Runs `work` while telling the client every 5 s that it is still under way: an export or import
 * of many GiB has no byte count to report, and the client gives up after 30 s of silence.
 */
export async function withHeartbeat<T>(call: MethodCall, stage: string, work: () => Promise<T>): Promise<T> {
  const started = Date.now()
  call.progress(stage, 0, 0)
  const timer = setInterval(
    () => call.progress(`${stage} (seconds)`, Math.round((Date.now() - started) / 1000), 0),
    5_000,
  )
  try {
    return await work()
  } finally {
    clearInterval(timer)
  }
}
