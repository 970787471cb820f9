import type { CommandSpec } from '../args.js'
import { UsageError } from '../errors.js'
import type { Command } from './command.js'

export const completion: Command = {
  spec: {
    name: 'completion',
    summary: 'Print a shell completion script for bash or zsh.',
    positionals: ['shell'],
    options: {},
    details: `
bash: provsync completion bash > /etc/bash_completion.d/provsync   (or: source <(provsync completion bash))
zsh:  provsync completion zsh > "\${fpath[1]}/_provsync"           (or: source <(provsync completion zsh))`,
  },
  async run(args, io) {
    const shell = args.positionals[0]
    const { COMMANDS } = await import('./table.js')
    const { BUILTIN_COMMANDS } = await import('../main.js')
    const specs = COMMANDS.map((c) => c.spec)
    const names = [...specs.map((s) => s.name), ...BUILTIN_COMMANDS]
    if (shell === 'bash') io.stdout.write(bashScript(names, specs))
    else if (shell === 'zsh') io.stdout.write(zshScript(names, specs))
    else throw new UsageError(args.command, `<shell> must be bash or zsh, got '${shell}'`)
    return 0
  },
}

function flagsOf(spec: CommandSpec): string[] {
  const flags = Object.entries(spec.options).map(([name]) => `--${name}`)
  return [...flags, '--help']
}

/** Completes the command name, then that command's flags; file names elsewhere. */
export function bashScript(names: readonly string[], specs: readonly CommandSpec[]): string {
  const cases = specs.map((s) => `    ${s.name}) flags="${flagsOf(s).join(' ')}" ;;`).join('\n')
  return `# provsync bash completion
_provsync() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" flags=""
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${names.join(' ')} --help --version" -- "$cur") )
    return
  fi
  case "\${COMP_WORDS[1]}" in
${cases}
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$flags" -- "$cur") )
  else
    COMPREPLY=( $(compgen -f -- "$cur") )
  fi
}
complete -o filenames -F _provsync provsync
`
}

export function zshScript(names: readonly string[], specs: readonly CommandSpec[]): string {
  const quote = (text: string) => text.replaceAll("'", "'\\''").replaceAll(':', '\\:')
  const described = specs.map((s) => `'${s.name}:${quote(s.summary)}'`)
  const extra = names.filter((n) => !specs.some((s) => s.name === n)).map((n) => `'${n}'`)
  const cases = specs
    .map((s) => {
      const flags = Object.entries(s.options).map(
        ([name, o]) => `'--${name}[${quote(o.description).replaceAll('[', '(').replaceAll(']', ')')}]'`,
      )
      return `    ${s.name}) _arguments ${[...flags, "'--help[show help]'", "'*:file:_files'"].join(' ')} ;;`
    })
    .join('\n')
  return `#compdef provsync
# provsync zsh completion
_provsync() {
  if (( CURRENT == 2 )); then
    local -a commands
    commands=(${[...described, ...extra].join(' ')})
    _describe 'command' commands
    return
  fi
  shift words; (( CURRENT-- ))
  case "\${words[1]}" in
${cases}
  esac
}
compdef _provsync provsync
`
}
