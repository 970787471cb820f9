import { UsageError } from '../errors.js'

const UNITS: Record<string, number> = {
  '': 1,
  k: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tib: 1024 ** 4,
}

/** `--blob-budget`: bytes, or a number with K/M/G/T (binary units: 512MiB, 2G). */
export function parseByteSize(command: string, name: string, text: string): number {
  const match = /^(\d{1,15})\s*([a-zA-Z]*)$/.exec(text.trim())
  const unit = UNITS[(match?.[2] ?? '').toLowerCase()]
  if (match === null || unit === undefined)
    throw new UsageError(
      command,
      `${name} must be a size in bytes such as 536870912, 512MiB or 2GiB, got '${text}'`,
    )
  const bytes = Number(match[1]) * unit
  if (!Number.isSafeInteger(bytes)) throw new UsageError(command, `${name} is too large: '${text}'`)
  return bytes
}
