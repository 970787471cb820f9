/** Where a command writes; a terminal gets progress, a pipe does not. */
export interface Output {
  write(text: string): unknown
  readonly isTTY?: boolean
}

export interface Io {
  readonly stdout: Output
  readonly stderr: Output
  readonly env: Readonly<Record<string, string | undefined>>
  readonly cwd: string
  /** Aborted when the process is asked to stop (SIGINT, SIGTERM); long-running commands end cleanly. */
  readonly signal?: AbortSignal
}

export function processIo(signal?: AbortSignal): Io {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    ...(signal !== undefined ? { signal } : {}),
  }
}

/** JSON with bigints as decimal strings and bytes as hex, one document per line. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return v.toString()
    if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')
    return v
  })
}

export function printJson(io: Io, value: unknown): void {
  io.stdout.write(`${toJson(value)}\n`)
}

export interface Progress {
  update(label: string, done: number, total?: number): void
  end(): void
}

/**
 * Progress on one self-rewriting line when `out` is a terminal; nothing at all in a pipe, so
 * scripts and `--json` readers see only results. Updates are throttled to keep the terminal calm.
 */
export function terminalProgress(out: Output, now: () => number = Date.now, intervalMs = 100): Progress {
  if (out.isTTY !== true) return { update() {}, end() {} }
  let last = -Infinity
  let shown = false
  return {
    update(label, done, total) {
      const t = now()
      if (t - last < intervalMs && (total === undefined || done < total)) return
      last = t
      shown = true
      out.write(`\r\x1b[K${progressLine(label, done, total)}`)
    },
    end() {
      if (shown) out.write('\r\x1b[K')
      shown = false
    },
  }
}

export function progressLine(label: string, done: number, total?: number): string {
  if (total === undefined || total <= 0) return `${label} ${done}`
  const percent = Math.min(100, Math.floor((done / total) * 100))
  return `${label} ${done}/${total} (${percent}%)`
}

/** Left-aligned columns, for human output. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = []
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length)
    })
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}

/** "3s ago", "2m ago": how long since `ms`, for lag columns. */
export function ago(ms: number | undefined, now: number = Date.now()): string {
  if (ms === undefined) return 'never'
  const s = Math.max(0, Math.round((now - ms) / 1000))
  if (s < 60) return `${s}s ago`
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 > 0 ? `${s % 60}s` : ''} ago`
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m ago`
}
