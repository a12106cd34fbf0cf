// The outputs of `agentctl doctor sso`: human (grouped by payload, problems first, ✓/✗/–, the
// fix under each failure, every step's duration, 80 columns) and JSON (stable snake_case).
import { printable } from '../bounded-text.js';
import { paint, type Style } from '../cli/format.js';
import { ssoCodes } from './codes.js';
import type { CheckResult, SsoReport } from './doctor.js';

/** Wraps at `width` columns: `first` before the first line, `rest` before the others. NUL glues words. */
function wrap(text: string, first: string, rest = first, width = 80): string[] {
  const out: string[] = [];
  let line = '';
  let indent = first;
  for (const word of text.split(/ +/).filter(Boolean)) {
    const room = width - rest.length;
    const piece = [...word].length > room ? `${[...word].slice(0, room - 1).join('')}…` : word;
    if (line && [...indent].length + [...line].length + 1 + [...piece].length > width) {
      out.push(indent + line);
      indent = rest;
      line = piece;
    } else line = line ? `${line} ${piece}` : piece;
  }
  if (line) out.push(indent + line);
  return out.map((l) => l.replace(/\0/g, ' '));
}

export function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)}\0s` : `${ms}\0ms`;
}

function mark(check: CheckResult, style: Style): string {
  if (check.status === 'skip') return '–';
  if (check.status === 'pass') return paint(style, 'green', '✓');
  return check.severity === 'warning' ? paint(style, 'yellow', '!') : paint(style, 'red', '✗');
}

export function formatHuman(report: SsoReport, style: Style): string {
  const lines: string[] = [];
  if (report.installed) {
    const i = report.installed;
    if (i.left_out > 0)
      lines.push(
        ...wrap(
          `${paint(style, 'yellow', '!')} installed_left_out: ${i.left_out} more SSO payloads are installed than agentd answers; they are not checked`,
          '',
          '  ',
        ),
        ...wrap(`fix: ${ssoCodes.installed_left_out.fix}`, '    '),
      );
    if (!i.as_root)
      lines.push(...wrap('agentd does not run as root: the computer-level profiles may be missing', '', '  '));
    lines.push(...wrap(`Installed profiles, read by agentd at ${i.read_at}`, ''), '');
  }
  for (const p of report.payloads) {
    lines.push(...wrap(paint(style, 'bold', printable(`${p.file}: ${p.payload_identifier ?? 'file'}`)), ''));
    if (p.extension_identifier || p.hosts.length)
      lines.push(
        ...wrap(
          `${p.extension_identifier ?? '(no ExtensionIdentifier)'} team ${p.team_identifier ?? '?'}, ${p.type ?? '?'}${p.hosts.length ? `; hosts ${p.hosts.join(', ')}` : ''}`,
          '  ',
        ),
      );
    for (const c of p.checks) {
      const head = `${mark(c, style)} ${c.check}${c.target ? ` ${c.target}` : ''}: ${c.code === 'ok' ? c.detail : `${c.code}, ${c.detail}`} (${formatMs(c.duration_ms)})`;
      lines.push(...wrap(head, '  ', '    '));
      if (c.status === 'fail' && c.hint) lines.push(...wrap(`fix: ${c.hint}`, '      '));
    }
    lines.push('');
  }
  const s = report.summary;
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
  lines.push(
    `${plural(s.payloads, 'SSO payload')}: ${plural(s.errors, 'error')}, ${plural(s.warnings, 'warning')}, ${plural(s.notes, 'note')} (${formatMs(s.duration_ms).replace('\0', ' ')})`,
  );
  return lines.join('\n');
}

export function formatJson(report: SsoReport, exitCode: number): string {
  return JSON.stringify({ ...report, exit_code: exitCode }, null, 2);
}
