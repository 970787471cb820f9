/** CPU time (user + system) this process used since `start` (a `process.cpuUsage()`), in µs. */
export function cpuMicrosSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start)
  return used.user + used.system
}

/** Wall and CPU time of each side of {@link timeAlternating}, summed over the items. */
export interface AlternatedTimes {
  applyMs: number
  verifyMs: number
  applyCpuUs: number
  verifyCpuUs: number
}

/**
 * For each item, runs `apply` and then `verify`, timing each in wall and CPU time. Alternating
 * batch by batch lets both see the same machine (other processes come and go), so a ratio of the
 * two compares like with like.
 */
export async function timeAlternating<T>(
  items: readonly T[],
  apply: (item: T) => Promise<void>,
  verify: (item: T) => void,
): Promise<AlternatedTimes> {
  const times: AlternatedTimes = { applyMs: 0, verifyMs: 0, applyCpuUs: 0, verifyCpuUs: 0 }
  for (const item of items) {
    const applyStart = performance.now()
    const applyCpu = process.cpuUsage()
    await apply(item)
    times.applyMs += performance.now() - applyStart
    times.applyCpuUs += cpuMicrosSince(applyCpu)
    const verifyStart = performance.now()
    const verifyCpu = process.cpuUsage()
    verify(item)
    times.verifyMs += performance.now() - verifyStart
    times.verifyCpuUs += cpuMicrosSince(verifyCpu)
  }
  return times
}

/** {@link timeAlternating}'s sums over `records` records: rates per second and CPU µs per record. */
export function perRecord(times: AlternatedTimes, records: number) {
  return {
    applyRate: (records * 1000) / times.applyMs,
    verifyRate: (records * 1000) / times.verifyMs,
    applyCpuUs: times.applyCpuUs / records,
    verifyCpuUs: times.verifyCpuUs / records,
  }
}
