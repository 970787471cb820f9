import { CliError, ExitCode } from '../errors.js'

/** A control request whose parameters do not fit its method. */
export class InvalidRequestError extends CliError {
  constructor(message: string) {
    super(message, ExitCode.requestFailed)
  }
}

export type Params = Record<string, unknown>

export function asParams(value: unknown): Params {
  if (value === undefined || value === null) return {}
  if (typeof value !== 'object' || Array.isArray(value))
    throw new InvalidRequestError('params must be an object')
  return value as Params
}

export function text(
  params: Params,
  name: string,
  options: { maxBytes?: number; optional?: boolean } = {},
): string {
  const value = params[name]
  if (value === undefined && options.optional) return ''
  if (typeof value !== 'string' || value.length === 0)
    throw new InvalidRequestError(`${name} must be a non-empty string`)
  if (Buffer.byteLength(value) > (options.maxBytes ?? 1024))
    throw new InvalidRequestError(`${name} is too long`)
  return value
}

export function bigintText(params: Params, name: string): bigint {
  const value = params[name]
  if (typeof value !== 'string' || !/^\d{1,20}$/.test(value)) {
    throw new InvalidRequestError(`${name} must be a decimal integer string`)
  }
  const n = BigInt(value)
  if (n >= 2n ** 64n) throw new InvalidRequestError(`${name} must be below 2^64`)
  return n
}

export function integer(params: Params, name: string, fallback: number, min: number, max: number): number {
  const value = params[name]
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
    throw new InvalidRequestError(`${name} must be an integer between ${min} and ${max}`)
  }
  return value as number
}

export function hexBytes(params: Params, name: string, length?: number): Uint8Array {
  const value = params[name]
  if (typeof value !== 'string' || !/^([0-9a-f]{2})+$/.test(value)) {
    throw new InvalidRequestError(`${name} must be lowercase hex`)
  }
  const bytes = new Uint8Array(Buffer.from(value, 'hex'))
  if (length !== undefined && bytes.length !== length)
    throw new InvalidRequestError(`${name} must be ${length} bytes`)
  return bytes
}

export function hexList(params: Params, name: string, length: number): Uint8Array[] {
  const value = params[name]
  if (value === undefined) return []
  if (!Array.isArray(value) || value.length > 1024) throw new InvalidRequestError(`${name} must be an array`)
  return value.map((_, i) => hexBytes(value as unknown as Params, String(i), length))
}

export function choice<T extends string>(params: Params, name: string, choices: readonly T[]): T | undefined {
  const value = params[name]
  if (value === undefined) return undefined
  if (!(choices as readonly unknown[]).includes(value)) {
    throw new InvalidRequestError(`${name} must be one of ${choices.join(', ')}`)
  }
  return value as T
}
