import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { OptionSpec, OptionValue, ParsedArgs } from './args.js'
import { UsageError } from './errors.js'

/**
 * Where each `node` setting comes from, highest first: the command-line flag, then the
 * `PROVSYNC_<NAME>` environment variable (`--metrics-port` is `PROVSYNC_METRICS_PORT`; a list is
 * comma-separated; a flag is 1/true/yes or 0/false/no), then the `--config` file (JSON, the flag
 * names as keys), then the default.
 */
export interface Settings {
  /** The merged value of each option, as the flag parser would have produced it. */
  readonly values: Readonly<Record<string, OptionValue>>
  /** Names the source of an option's value in an error: `--listen`, `PROVSYNC_LISTEN`, `node.json: listen`. */
  source(name: string): string
}

/** Options never read from the environment or a config file. */
const FLAG_ONLY = new Set(['help', 'config', 'json'])

export function envName(option: string): string {
  return `PROVSYNC_${option.toUpperCase().replaceAll('-', '_')}`
}

export function resolveSettings(
  args: ParsedArgs,
  options: Readonly<Record<string, OptionSpec>>,
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): Settings {
  const configPath = (args.values.config as string[] | string | undefined) ?? nonEmpty(env.PROVSYNC_CONFIG)
  const configFile = Array.isArray(configPath) ? configPath[configPath.length - 1] : configPath
  const config =
    configFile === undefined ? {} : readConfigFile(args.command, resolve(cwd, configFile), options)
  const values: Record<string, OptionValue> = { ...args.values }
  const sources = new Map<string, string>()
  for (const [name, spec] of Object.entries(options)) {
    if (FLAG_ONLY.has(name)) continue
    if (args.values[name] !== undefined) sources.set(name, `--${name}`)
    else if (nonEmpty(env[envName(name)]) !== undefined) {
      values[name] = fromEnv(args.command, name, spec, env[envName(name)]!)
      sources.set(name, envName(name))
    } else if (config[name] !== undefined) {
      values[name] = config[name]
      sources.set(name, `${configFile}: ${name}`)
    }
  }
  return { values, source: (name) => sources.get(name) ?? `--${name}` }
}

function nonEmpty(text: string | undefined): string | undefined {
  return text === undefined || text === '' ? undefined : text
}

function fromEnv(command: string, name: string, spec: OptionSpec, text: string): OptionValue {
  if (spec.type === 'boolean') {
    if (/^(1|true|yes)$/i.test(text)) return true
    if (/^(0|false|no)$/i.test(text)) return false
    throw new UsageError(command, `${envName(name)} must be 1, true, yes, 0, false or no, got '${text}'`)
  }
  if (spec.multiple)
    return text
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part !== '')
  return text
}

function readConfigFile(
  command: string,
  file: string,
  options: Readonly<Record<string, OptionSpec>>,
): Record<string, OptionValue> {
  let value: unknown
  try {
    value = JSON.parse(readFileSync(file, 'utf8'))
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'no such file' : code !== undefined ? code : 'not valid JSON'
    throw new UsageError(command, `--config ${file}: ${why}`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new UsageError(command, `--config ${file}: must hold one JSON object`)
  const out: Record<string, OptionValue> = {}
  for (const [key, v] of Object.entries(value)) {
    const spec = options[key]
    if (spec === undefined || FLAG_ONLY.has(key))
      throw new UsageError(command, `--config ${file}: unknown setting '${key}'`)
    out[key] = configValue(command, `--config ${file}: ${key}`, spec, v)
  }
  return out
}

function configValue(command: string, where: string, spec: OptionSpec, v: unknown): OptionValue {
  if (spec.type === 'boolean') {
    if (typeof v !== 'boolean') throw new UsageError(command, `${where} must be true or false`)
    return v
  }
  if (spec.multiple && Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[]
  if (typeof v === 'string') return spec.multiple ? [v] : v
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v)
  throw new UsageError(
    command,
    `${where} must be ${spec.multiple ? 'a string or a list of strings' : 'a string'}`,
  )
}
