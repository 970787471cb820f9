import { helpText, parseCommandArgs } from './args.js'
import { audit } from './commands/audit.js'
import type { Command } from './commands/command.js'
import { gate } from './commands/gate.js'
import { invalidate, lift } from './commands/invalidate.js'
import { keygen } from './commands/keygen.js'
import { ledger } from './commands/ledger.js'
import { node } from './commands/node.js'
import { reinstate, revoke } from './commands/revoke.js'
import { runSim, SIM_SUMMARY } from './commands/sim.js'
import { status } from './commands/status.js'
import { verify } from './commands/verify.js'
import { ExitCode, errorLine, exitCodeOf, UsageError } from './errors.js'
import type { Io } from './io.js'

export const COMMANDS: readonly Command[] = [
  node,
  keygen,
  status,
  audit,
  gate,
  revoke,
  reinstate,
  invalidate,
  lift,
  ledger,
  verify,
]

export function globalHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.spec.name.length))
  return `Usage: provsync <command> [options]

provsync runs a peer-to-peer sync node and answers for its durability evidence.

Commands:
${COMMANDS.map((c) => `  ${c.spec.name.padEnd(width)}  ${c.spec.summary}`).join('\n')}
  ${'sim'.padEnd(width)}  ${SIM_SUMMARY}

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
    const [name, ...rest] = argv
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      const topic = name === 'help' ? rest[0] : undefined
      const command = topic === undefined ? undefined : findCommand(topic)
      io.stdout.write(command === undefined ? globalHelp() : helpText(command.spec))
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
  } catch (err) {
    io.stderr.write(`provsync: ${errorLine(err)}\n`)
    return exitCodeOf(err)
  }
}

function findCommand(name: string): Command {
  const command = COMMANDS.find((c) => c.spec.name === name)
  if (command === undefined) {
    throw new UsageError(
      'provsync',
      `unknown command '${name}'; commands: ${[...COMMANDS.map((c) => c.spec.name), 'sim'].join(', ')}`,
    )
  }
  return command
}
