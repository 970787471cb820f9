import type { Output } from './io.js'

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

export interface Log {
  readonly level: LogLevel
  error(message: string): void
  warn(message: string): void
  info(message: string): void
  debug(message: string): void
}

/** Timestamped lines on `out` (stderr), below `level` dropped; stdout stays for results. */
export function createLog(out: Output, level: LogLevel, now: () => Date = () => new Date()): Log {
  const rank = LOG_LEVELS.indexOf(level)
  const at = (lineLevel: LogLevel) => (message: string) => {
    if (LOG_LEVELS.indexOf(lineLevel) <= rank)
      out.write(`${now().toISOString()} ${lineLevel.padEnd(5)} ${message}\n`)
  }
  return { level, error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') }
}
