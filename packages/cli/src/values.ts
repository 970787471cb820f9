import { UsageError } from './errors.js'

// Converters from command-line text to typed values. Each throws a UsageError naming the command
// and the argument, so `provsync gate ... x` says "run must be ..." instead of a stack trace.

const MAX_RUN = 2n ** 64n - 1n

/** A run id: a decimal integer in [0, 2^64). */
export function parseRun(command: string, name: string, text: string): bigint {
  if (!/^\d{1,20}$/.test(text))
    throw new UsageError(command, `${name} must be a non-negative integer, got '${text}'`)
  const run = BigInt(text)
  if (run > MAX_RUN) throw new UsageError(command, `${name} must be below 2^64, got ${text}`)
  return run
}

/** A decimal integer in [min, max]. */
export function parseInteger(command: string, name: string, text: string, min: number, max: number): number {
  if (!/^\d{1,16}$/.test(text)) throw new UsageError(command, `${name} must be an integer, got '${text}'`)
  const value = Number(text)
  if (value < min || value > max) {
    throw new UsageError(command, `${name} must be between ${min} and ${max}, got ${text}`)
  }
  return value
}

/** A raw 32-byte Ed25519 public key in hex. */
export function parseHexKey(command: string, name: string, text: string): Uint8Array {
  const hex = text.trim().toLowerCase()
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new UsageError(
      command,
      `${name} must be a 32-byte public key in hex (64 characters), got '${text}'`,
    )
  }
  return new Uint8Array(Buffer.from(hex, 'hex'))
}

export function parseChoice<T extends string>(
  command: string,
  name: string,
  text: string,
  choices: readonly T[],
): T {
  if (!(choices as readonly string[]).includes(text)) {
    throw new UsageError(command, `${name} must be one of ${choices.join(', ')}, got '${text}'`)
  }
  return text as T
}

/** A coordinate part: non-empty, at most 256 UTF-8 bytes (the record codec's bound). */
export function parseCoordinatePart(command: string, name: string, text: string): string {
  if (text.length === 0) throw new UsageError(command, `${name} must not be empty`)
  if (Buffer.byteLength(text, 'utf8') > 256) throw new UsageError(command, `${name} is longer than 256 bytes`)
  return text
}
