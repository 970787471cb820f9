import { type CommandSpec, helpText, parseCommandArgs, UsageError } from '@provsync/cli'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'

const spec: CommandSpec = {
  name: 'gate',
  summary: 'decide',
  positionals: ['volume', 'run'],
  options: {
    local: { type: 'boolean', description: 'local only' },
    'min-asserters': { type: 'string', value: '<k>', description: 'k asserters' },
    ignore: { type: 'string', multiple: true, description: 'ignore one' },
  },
}

function usageMessage(argv: string[]): string {
  try {
    parseCommandArgs(spec, argv)
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError)
    return (err as Error).message
  }
  throw new Error('expected a usage error')
}

describe('parseCommandArgs', () => {
  it('returns positionals and typed option values', () => {
    const args = parseCommandArgs(spec, [
      'v',
      '7',
      '--local',
      '--ignore',
      'a',
      '--ignore',
      'b',
      '--min-asserters',
      '2',
    ])
    expect(args.positionals).toEqual(['v', '7'])
    expect(args.values).toMatchObject({ local: true, ignore: ['a', 'b'], 'min-asserters': '2' })
    expect(args.help).toBe(false)
  })

  it('names the command, the problem and --help in one line', () => {
    expect(usageMessage(['v', '7', '--bogus'])).toBe(
      "provsync gate: unknown option '--bogus' (see provsync gate --help)",
    )
    expect(usageMessage(['v'])).toBe('provsync gate: missing <run> (see provsync gate --help)')
    expect(usageMessage(['v', '7', 'extra'])).toBe(
      "provsync gate: unexpected argument 'extra' (see provsync gate --help)",
    )
    expect(usageMessage(['v', '7', '--min-asserters'])).toContain("option '--min-asserters' needs a value")
    expect(usageMessage(['v', '7', '--local=yes'])).toContain("'--local'")
  })

  it('answers --help whatever else is on the line', () => {
    fc.assert(
      fc.property(fc.array(fc.string()), fc.nat(), fc.constantFrom('--help', '-h'), (argv, at, flag) => {
        const line = [...argv]
        line.splice(at % (line.length + 1), 0, flag)
        expect(parseCommandArgs(spec, line).help).toBe(true)
      }),
    )
  })

  it('either parses or throws a one-line UsageError, for any argv', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.string(), fc.constantFrom('--local', '--ignore', '--min-asserters', '-x'))),
        (argv) => {
          try {
            parseCommandArgs(spec, argv)
          } catch (err) {
            expect(err).toBeInstanceOf(UsageError)
            expect((err as Error).message).toMatch(/^provsync gate: /)
          }
        },
      ),
    )
  })
})

describe('helpText', () => {
  it('shows usage with positionals and every option with its description', () => {
    const text = helpText(spec)
    expect(text.split('\n')[0]).toBe('Usage: provsync gate <volume> <run> [options]')
    for (const [name, option] of Object.entries(spec.options)) {
      expect(text).toContain(`--${name}`)
      expect(text).toContain(option.description)
    }
    expect(text).toContain('--help')
    expect(text).toContain('(repeatable)')
  })
})
