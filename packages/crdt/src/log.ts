import { logger } from '@libp2p/logger'

/**
 * crdt's loggers (@libp2p/logger: `DEBUG=provsync:crdt*` shows them beside libp2p's and sync's).
 * `provsync:crdt`: stores opened, schema migrations, writes resumed; `provsync:crdt:ingest`: each
 * refused record with its reason (a peer's bad record is its offence, counted by sync at warn);
 * `provsync:crdt:warn`: writes suspended after a failed write. All stay silent unless enabled.
 */
export const log = logger('provsync:crdt')
export const ingestLog = logger('provsync:crdt:ingest')
export const warnLog = logger('provsync:crdt:warn')
