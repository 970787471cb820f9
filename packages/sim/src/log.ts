import { logger } from '@libp2p/logger'

/**
 * sim's logger (@libp2p/logger: `DEBUG=provsync:sim*`, with `provsync:*` for the nodes too): the
 * run's timeline as it happens (faults, crashes and restarts, Byzantine phases, convergence).
 * The report and the CLI's lines are the sim's output; this is for following a run live.
 */
export const log = logger('provsync:sim')
