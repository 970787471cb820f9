import type { ComponentLogger, Logger } from '@libp2p/interface'

/** A libp2p component logger with a warn level: `<name>:warn`, next to libp2p's `:error` and `:trace`. */
export interface SyncLog extends Logger {
  warn(formatter: string, ...args: unknown[]): void
}

/** Logger names: `provsync:sync`, `provsync:sync:reconcile`, `provsync:sync:offences`, ... */
export function componentLog(logger: ComponentLogger, name: string): SyncLog {
  const log = logger.forComponent(name)
  const warn = logger.forComponent(`${name}:warn`)
  return Object.assign(log, { warn: (formatter: string, ...args: unknown[]) => warn(formatter, ...args) })
}
