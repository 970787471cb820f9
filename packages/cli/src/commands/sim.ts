import { StopRequestedError } from '../errors.js'
import type { Io } from '../io.js'

export const SIM_SUMMARY =
  'Run the multi-node simulation harness: seeded workload, faults, Byzantine peers, checker, report.'

/**
 * `provsync sim` hands its arguments to the harness's own parser (`@provsync/sim`), which owns the
 * options and their `--help`. It is loaded lazily so the other commands start without libp2p.
 */
export async function runSim(argv: readonly string[], io: Io): Promise<number> {
  const sim = await import('@provsync/sim')
  const tty = io.stderr.isTTY === true
  // A run cannot stop midway: on SIGINT/SIGTERM (this binary's handlers abort io.signal) the harness
  // removes its nodes' store directories and exits 130/143 (session 16; before, the run went on).
  const onStop = (): void => {
    const reason = io.signal?.reason
    void sim.exitAfterCleanUp(
      reason instanceof StopRequestedError && reason.signal === 'SIGTERM' ? 'SIGTERM' : 'SIGINT',
    )
  }
  io.signal?.addEventListener('abort', onStop, { once: true })
  try {
    return await sim.main(argv, {
      out: (line) => {
        if (tty) io.stderr.write('\r\x1b[K')
        io.stdout.write(`${line}\n`)
      },
      error: (line) => io.stderr.write(`provsync sim: ${line}\n`),
      progress: (text) => {
        // A terminal gets one line redrawn in place; a pipe stays quiet.
        if (tty) io.stderr.write(`\r\x1b[K${text}`)
      },
    })
  } finally {
    io.signal?.removeEventListener('abort', onStop)
  }
}
