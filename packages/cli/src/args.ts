import { parseArgs } from 'node:util'
import { UsageError } from './errors.js'

export interface OptionSpec {
  readonly type: 'string' | 'boolean'
  readonly multiple?: boolean
  readonly short?: string
  /** Placeholder shown in help, e.g. `<dir>`. */
  readonly value?: string
  readonly description: string
}

export interface CommandSpec {
  /** As typed after `provsync`, e.g. `gate`. */
  readonly name: string
  readonly summary: string
  /** Required positional arguments, in order. */
  readonly positionals: readonly string[]
  /** Optional positional arguments after the required ones. */
  readonly optionalPositionals?: readonly string[]
  readonly options: Readonly<Record<string, OptionSpec>>
  /** Paragraphs shown after the options in `--help`. */
  readonly details?: string
}

export type OptionValue = string | boolean | string[] | undefined

export interface ParsedArgs {
  readonly command: string
  readonly values: Readonly<Record<string, OptionValue>>
  readonly positionals: readonly string[]
  readonly help: boolean
}

export const HELP_OPTION: OptionSpec = { type: 'boolean', short: 'h', description: 'show this help' }

/**
 * Parses one command's arguments strictly: unknown options, missing values and a wrong number of
 * positionals are usage errors naming the command. `--help` wins over everything else, so it
 * works even on an otherwise broken command line.
 */
export function parseCommandArgs(spec: CommandSpec, argv: readonly string[]): ParsedArgs {
  const command = `provsync ${spec.name}`
  const options = { ...spec.options, help: HELP_OPTION }
  if (argv.includes('--help') || argv.includes('-h')) {
    return { command, values: {}, positionals: [], help: true }
  }
  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({
      args: attachNegativeValues(argv, options),
      options: Object.fromEntries(
        Object.entries(options).map(([name, o]) => [
          name,
          { type: o.type, ...(o.multiple ? { multiple: true } : {}), ...(o.short ? { short: o.short } : {}) },
        ]),
      ),
      allowPositionals: true,
      strict: true,
    })
  } catch (err) {
    throw new UsageError(command, parseArgsMessage(err))
  }
  const positionals = parsed.positionals
  if (positionals.length < spec.positionals.length) {
    const missing = spec.positionals.slice(positionals.length).map((p) => `<${p}>`)
    throw new UsageError(command, `missing ${missing.join(' ')}`)
  }
  const most = spec.positionals.length + (spec.optionalPositionals?.length ?? 0)
  if (positionals.length > most) {
    throw new UsageError(command, `unexpected argument '${positionals[most]}'`)
  }
  return { command, values: parsed.values as Record<string, OptionValue>, positionals, help: false }
}

/**
 * `--since -5` hands node:util a value that looks like an option, which it reports as "takes no
 * value"; joined as `--since=-5` the value reaches the command's converter, which names the flag
 * and says what it expects.
 */
function attachNegativeValues(argv: readonly string[], options: Record<string, OptionSpec>): string[] {
  const takesValue = new Set<string>()
  for (const [name, o] of Object.entries(options)) {
    if (o.type !== 'string') continue
    takesValue.add(`--${name}`)
    if (o.short !== undefined) takesValue.add(`-${o.short}`)
  }
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!
    const next = argv[i + 1]
    if (token === '--') {
      out.push(...argv.slice(i))
      break
    }
    if (takesValue.has(token) && next !== undefined && /^-\d/.test(next)) {
      out.push(token.startsWith('--') ? `${token}=${next}` : `${token}${next}`)
      i++
    } else out.push(token)
  }
  return out
}

// node:util messages are long and mention `parseArgs`; keep the part a user acts on.
function parseArgsMessage(err: unknown): string {
  const error = err as { code?: string; message?: string }
  const message = String(error.message ?? err)
  const option = /'(-[^' ]*)/.exec(message)?.[1]
  switch (error.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option '${option ?? message}'`
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return message.includes('argument missing')
        ? `option '${option ?? '?'}' needs a value`
        : `option '${option ?? '?'}' takes no value`
    default:
      return message.split('\n', 1)[0] ?? message
  }
}

export function helpText(spec: CommandSpec): string {
  const options = { ...spec.options, help: HELP_OPTION }
  const args = [
    ...spec.positionals.map((p) => `<${p}>`),
    ...(spec.optionalPositionals ?? []).map((p) => `[<${p}>]`),
  ].join(' ')
  const lines = [
    `Usage: provsync ${spec.name}${args ? ` ${args}` : ''} [options]`,
    '',
    spec.summary,
    '',
    'Options:',
  ]
  const rows = Object.entries(options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.value ?? '<value>'}` : ''}`
    return [flag, o.description + (o.multiple ? ' (repeatable)' : '')] as const
  })
  const width = Math.max(...rows.map(([flag]) => flag.length))
  for (const [flag, description] of rows) lines.push(`  ${flag.padEnd(width)}  ${description}`)
  if (spec.details !== undefined) lines.push('', spec.details.trim())
  return `${lines.join('\n')}\n`
}

/** The last value of a string option (a repeated single-valued option keeps the last). */
export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name]
  if (Array.isArray(value)) return value[value.length - 1]
  return typeof value === 'string' ? value : undefined
}

export function listOption(args: ParsedArgs, name: string): string[] {
  const value = args.values[name]
  if (Array.isArray(value)) return value
  return typeof value === 'string' ? [value] : []
}

export function flagOption(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true
}
