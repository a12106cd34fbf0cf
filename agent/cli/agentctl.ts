#!/usr/bin/env node
// agentctl: the support-staff CLI. Commands come from descriptors (the daemon's own in
// ./core-commands.ts, each capability's in its index.ts): help is made from their metadata,
// flags are parsed with node:util's parseArgs, and a command's code is imported only when it
// runs. Exit codes: agent/exit-codes.ts.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { CommandDescriptor, FlagSpec, FlagValue } from '../capability.js';
import { capabilities } from '../capabilities.js';
import { exitCodes } from '../exit-codes.js';
import { coreCommands } from './core-commands.js';
import { wrapText } from './format.js';

const all: readonly CommandDescriptor[] = [...coreCommands, ...capabilities.flatMap((c) => c.commands ?? [])];

class UsageError extends Error {}

function flagUsage(flag: FlagSpec): string {
  return `--${flag.name}${flag.value ? ` ${flag.value}` : ''}`;
}

/** Two columns that fit 80: the right one wraps at word boundaries under itself. */
function columns(rows: Array<[string, string]>): string {
  const width = Math.min(24, Math.max(0, ...rows.map(([left]) => left.length)));
  const lines: string[] = [];
  for (const [left, right] of rows) {
    const wrapped = wrapText(right, 80 - width - 4);
    if (left.length > width) lines.push(`  ${left}`, ...wrapped.map((l) => `  ${''.padEnd(width)}  ${l}`));
    else wrapped.forEach((l, i) => lines.push(`  ${(i === 0 ? left : '').padEnd(width)}  ${l}`));
  }
  return lines.join('\n');
}

function programHelp(): string {
  const groups = new Map<string, string>();
  for (const c of all) {
    const [head, sub] = c.name.split(' ');
    if (sub === undefined) groups.set(head!, c.summary);
    else if (!groups.has(head!))
      groups.set(
        head!,
        `${all
          .filter((o) => o.name.startsWith(`${head} `))
          .map((o) => o.name.split(' ')[1])
          .join('|')}: ${c.summary.split(' (')[0]}`,
      );
  }
  return [
    'Usage: agentctl <command> [options]',
    '',
    'Ask the TrustGuard agent how this Mac is doing, and tell it what to do.',
    '',
    'Commands:',
    columns([...groups].map(([name, summary]) => [name, summary])),
    '',
    "Run agentctl <command> --help for a command's options and exit codes.",
    '',
    'Exit codes:',
    columns([
      ['0', 'healthy, or the command did what was asked'],
      ['2', 'a problem was found (status: any problem; see each command)'],
      ['1', 'the daemon is unreachable, or another error'],
      ['64', 'usage error'],
    ]),
  ].join('\n');
}

function groupHelp(group: string): string {
  const members = all.filter((c) => c.name.startsWith(`${group} `));
  const own = all.some((c) => c.name === group);
  return [
    `Usage: agentctl ${group} ${own ? '[' : '<'}${members.map((c) => c.name.split(' ')[1]).join('|')}${own ? ']' : '>'} [options]`,
    '',
    'Commands:',
    columns(members.map((c) => [c.name, c.summary])),
  ].join('\n');
}

function commandHelp(c: CommandDescriptor): string {
  const args = (c.args ?? []).map((a) =>
    a.required ? `<${a.name}${a.variadic ? '...' : ''}>` : `[${a.name}${a.variadic ? '...' : ''}]`,
  );
  const flags = c.flags ?? [];
  const out = [
    `Usage: agentctl ${c.name}${flags.length ? ' [options]' : ''}${args.length ? ` ${args.join(' ')}` : ''}`,
    '',
    ...wrapText(`${c.summary[0]!.toUpperCase()}${c.summary.slice(1)}.`, 80),
  ];
  if (c.needsRoot) out.push('Needs root (sudo).');
  if (c.args?.length) out.push('', 'Arguments:', columns(c.args.map((a) => [a.name, a.description])));
  const rows: Array<[string, string]> = flags.map((f) => [
    flagUsage(f),
    `${f.description}${f.choices ? ` (${f.choices.join(', ')})` : ''}${f.required ? ' (required)' : ''}`,
  ]);
  rows.push(['-h, --help', 'show this help']);
  out.push('', 'Options:', columns(rows));
  if (c.exits?.length) out.push('', 'Exit codes:', columns(c.exits.map(([code, when]) => [String(code), when])));
  return out.join('\n');
}

function parseFlagValues(
  c: CommandDescriptor,
  argv: string[],
): { args: string[]; flags: Record<string, FlagValue>; help: boolean } {
  const options: NonNullable<ParseArgsConfig['options']> = { help: { type: 'boolean', short: 'h' } };
  for (const f of c.flags ?? [])
    options[f.name] = { type: f.value ? 'string' : 'boolean', multiple: f.multiple === true };
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
  const values = parsed.values as Record<string, FlagValue>;
  if (values.help === true) return { args: [], flags: {}, help: true };
  const flags: Record<string, FlagValue> = {};
  for (const f of c.flags ?? []) {
    let value = values[f.name];
    if (value === undefined) {
      if (f.required) throw new UsageError(`required option '${flagUsage(f)}' not specified`);
      continue;
    }
    const each = Array.isArray(value) ? (value as string[]) : [value as string];
    if (f.choices) {
      for (const v of each)
        if (!f.choices.includes(v))
          throw new UsageError(`option '${flagUsage(f)}' argument '${v}' is invalid; allowed: ${f.choices.join(', ')}`);
    }
    if (f.integer) {
      const { min, max } = f.integer;
      const numbers = each.map((v) => {
        const n = Number(v);
        if (v.trim() === '' || !Number.isInteger(n) || n < min || n > max)
          throw new UsageError(`--${f.name} must be an integer from ${min} to ${max}`);
        return n;
      });
      value = f.multiple ? numbers : numbers[0];
    }
    flags[f.name] = value;
  }
  const specs = c.args ?? [];
  const positionals = parsed.positionals;
  const required = specs.filter((a) => a.required).length;
  if (positionals.length < required)
    throw new UsageError(`missing required argument '${specs[positionals.length]!.name}'`);
  if (!specs.some((a) => a.variadic) && positionals.length > specs.length)
    throw new UsageError(`too many arguments: ${positionals.slice(specs.length).join(' ')}`);
  return { args: positionals, flags, help: false };
}

async function main(argv: string[]): Promise<number> {
  const [first, second] = argv;
  if (first === undefined) {
    console.error(programHelp());
    return exitCodes.usage;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    console.log(programHelp());
    return exitCodes.ok;
  }
  const isGroup = all.some((c) => c.name.startsWith(`${first} `));
  // A group may have a command of its own (`agentctl doctor` beside `doctor profile`): it runs
  // when no subcommand follows.
  const bare = all.find((c) => c.name === first);
  const sub = isGroup ? all.find((c) => c.name === `${first} ${second}`) : undefined;
  const command = isGroup
    ? (sub ?? (bare && (second === undefined || second.startsWith('-')) ? bare : undefined))
    : bare;
  if (!command) {
    if (isGroup) {
      const help = second === '--help' || second === '-h';
      (help ? console.log : console.error)(groupHelp(first));
      return help ? exitCodes.ok : exitCodes.usage;
    }
    console.error(`agentctl: unknown command '${first}'\n(run agentctl --help for the commands)`);
    return exitCodes.usage;
  }
  let parsed;
  try {
    parsed = parseFlagValues(command, argv.slice(command.name.includes(' ') ? 2 : 1));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`agentctl ${command.name}: ${error.message}\n(run agentctl ${command.name} --help for usage)`);
    return exitCodes.usage;
  }
  if (parsed.help) {
    console.log(isGroup && command === bare ? `${commandHelp(command)}\n\n${groupHelp(first)}` : commandHelp(command));
    return exitCodes.ok;
  }
  const module = await command.load();
  return module.run({ args: parsed.args, flags: parsed.flags });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`agentctl: ${(error as Error).message}`);
    process.exitCode = exitCodes.error;
  },
);
