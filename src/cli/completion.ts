/**
 * `prekeyd completion bash|zsh|fish`: completion of commands, sub-commands and flags, generated
 * from the same tables as the help so that it knows every flag.
 */
import process from 'node:process';
import { options } from '../config.ts';
import { commandNames } from './help.ts';

const subcommands: Record<string, string[]> = {
  'api-keys': ['create', 'list', 'revoke'],
  config: ['print'],
  'master-key': ['new'],
  completion: ['bash', 'zsh', 'fish'],
};
/** Flags a command has besides the settings. */
const commandFlags: Record<string, string[]> = {
  'api-keys': ['project', 'acl', 'user-ids', 'description', 'expires-at', 'json', 'create-db'],
  snapshot: ['out'],
  migrate: ['from', 'to', 'force'],
  'master-key': ['out'],
};

const settingFlags = (): string[] => Object.values(options).map((info) => info.flag);
const flagsOf = (command: string): string[] => [
  ...(commandFlags[command] ?? []),
  ...(command === 'master-key' || command === 'completion' ? [] : settingFlags()),
  'help',
];

function bash(): string {
  const cases = commandNames
    .map((command) => `    ${command}) words="${[...(subcommands[command] ?? []), ...flagsOf(command).map((flag) => `--${flag}`)].join(' ')}" ;;`)
    .join('\n');
  return `# bash completion for prekeyd: prekeyd completion bash > /etc/bash_completion.d/prekeyd
_prekeyd() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" words
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${commandNames.join(' ')} --help --version" -- "$cur"))
    return
  fi
  case "\${COMP_WORDS[1]}" in
${cases}
    *) words="" ;;
  esac
  # no match (a file name, a value): -o default falls back to file names
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _prekeyd prekeyd
`;
}

function zsh(): string {
  const cases = commandNames
    .map((command) => `    ${command}) compadd -- ${[...(subcommands[command] ?? []), ...flagsOf(command).map((flag) => `--${flag}`)].join(' ')} ;;`)
    .join('\n');
  return `#compdef prekeyd
# zsh completion for prekeyd: prekeyd completion zsh > "\${fpath[1]}/_prekeyd"
_prekeyd() {
  if (( CURRENT == 2 )); then
    compadd -- ${commandNames.join(' ')} --help --version
    return
  fi
  case "$words[2]" in
${cases}
  esac
  _files
}
compdef _prekeyd prekeyd
`;
}

function fish(): string {
  const lines = ['# fish completion for prekeyd: prekeyd completion fish > ~/.config/fish/completions/prekeyd.fish', 'complete -c prekeyd -f'];
  lines.push(`complete -c prekeyd -n __fish_use_subcommand -a '${commandNames.join(' ')}'`);
  for (const command of commandNames) {
    const when = `__fish_seen_subcommand_from ${command}`;
    if (subcommands[command]) lines.push(`complete -c prekeyd -n '${when}' -a '${subcommands[command].join(' ')}'`);
    for (const flag of flagsOf(command)) lines.push(`complete -c prekeyd -n '${when}' -l ${flag}`);
  }
  return `${lines.join('\n')}\n`;
}

const shells: Record<string, () => string> = { bash, zsh, fish };

export async function runCompletion(argv: string[]): Promise<number> {
  const script = argv.length === 1 ? shells[argv[0]!] : undefined;
  if (!script) {
    console.error('Usage: prekeyd completion bash|zsh|fish');
    return 2;
  }
  process.stdout.write(script());
  return 0;
}
