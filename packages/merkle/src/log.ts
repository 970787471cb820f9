import { logger } from '@libp2p/logger'

/**
 * merkle's loggers (@libp2p/logger: `DEBUG=provsync:merkle*` shows them beside libp2p's and
 * sync's). `provsync:merkle`: trees opened and created; `provsync:merkle:warn`: a tree whose
 * stored nodes do not match its leaves. Both stay silent unless enabled.
 */
export const log = logger('provsync:merkle')
export const warnLog = logger('provsync:merkle:warn')
