import type { Output } from './io.js'

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]
export const LOG_FORMATS = ['text', 'json'] as const
export type LogFormat = (typeof LOG_FORMATS)[number]

export interface Log {
  readonly level: LogLevel
  error(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
  info(message: string, fields?: Record<string, unknown>): void
  debug(message: string, fields?: Record<string, unknown>): void
}

/**
 * Log lines on `out` (stderr), below `level` dropped; stdout stays for results. `text` is
 * `<ISO time> <level> <message>`; `json` is one object per line (`time`, `level`, `msg` and the
 * event's fields), the shape log shippers (Loki, Vector, jq) read. One format per stream.
 */
export function createLog(
  out: Output,
  level: LogLevel,
  format: LogFormat = 'text',
  now: () => Date = () => new Date(),
): Log {
  const rank = LOG_LEVELS.indexOf(level)
  const at = (lineLevel: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
    if (LOG_LEVELS.indexOf(lineLevel) > rank) return
    const time = now().toISOString()
    if (format === 'json')
      out.write(`${JSON.stringify({ time, level: lineLevel, msg: message, ...fields })}\n`)
    else out.write(`${time} ${lineLevel.padEnd(5)} ${message}\n`)
  }
  return { level, error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') }
}
