import { helpText, parseCommandArgs } from './args.js'
import type { Command } from './commands/command.js'
import { runSim, SIM_SUMMARY } from './commands/sim.js'
import { COMMANDS } from './commands/table.js'
import { ExitCode, errorLine, exitCodeOf, UsageError } from './errors.js'
import type { Io } from './io.js'
import { suggest } from './suggest.js'
import { cliVersion } from './version.js'

export { COMMANDS }

/** Names `provsync` answers to that are not in {@link COMMANDS}: handled by `main` itself. */
export const BUILTIN_COMMANDS = ['sim', 'version', 'help'] as const

export function commandNames(): string[] {
  return [...COMMANDS.map((c) => c.spec.name), ...BUILTIN_COMMANDS]
}

export function globalHelp(): string {
  const width = Math.max(...commandNames().map((name) => name.length))
  const row = (name: string, summary: string) => `  ${name.padEnd(width)}  ${summary}`
  return `Usage: provsync <command> [options]

provsync runs a peer-to-peer sync node and answers for its durability evidence.

Commands:
${COMMANDS.map((c) => row(c.spec.name, c.spec.summary)).join('\n')}
${row('sim', SIM_SUMMARY)}
${row('version', 'Print the version of provsync (also --version).')}

Run provsync <command> --help for a command's options.

Exit status: 0 ok (gate allows), 1 gate refuses or verify found a mismatch, 2 bad arguments,
3 no node running at the data directory, 4 the node refused the request, 5 other failure.
`
}

/**
 * Runs one command line and resolves with the exit status. Every failure becomes one line on
 * stderr here, and only here, so all commands report errors the same way.
 */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  try {
    return await dispatch(argv, io)
  } catch (err) {
    io.stderr.write(`${failureLine(err)}\n`)
    return exitCodeOf(err)
  }
}

/** `provsync: <cause>`, or `provsync <command>: <cause>` when the error names its command. */
export function failureLine(err: unknown): string {
  const line = errorLine(err)
  return line.startsWith('provsync ') || line.startsWith('provsync:') ? line : `provsync: ${line}`
}

async function dispatch(argv: readonly string[], io: Io): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined
    const command = topic === undefined ? undefined : findCommand(topic)
    io.stdout.write(command === undefined ? globalHelp() : helpText(command.spec))
    return ExitCode.ok
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    io.stdout.write(`provsync ${cliVersion()}\n`)
    return ExitCode.ok
  }
  if (name === 'sim') return await runSim(rest, io)
  const command = findCommand(name)
  const args = parseCommandArgs(command.spec, rest)
  if (args.help) {
    io.stdout.write(helpText(command.spec))
    return ExitCode.ok
  }
  return await command.run(args, io)
}

function findCommand(name: string): Command {
  const command = COMMANDS.find((c) => c.spec.name === name)
  if (command !== undefined) return command
  const names = commandNames()
  const close = name.startsWith('-') ? undefined : suggest(name, names)
  const what = name.startsWith('-')
    ? `unknown option '${name}' before a command`
    : `unknown command '${name}'`
  throw new UsageError(
    'provsync',
    close !== undefined ? `${what}; did you mean '${close}'?` : `${what}; commands: ${names.join(', ')}`,
  )
}
