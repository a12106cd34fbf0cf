// The outputs of `agentctl doctor sso`: human (grouped by payload, problems first, ✓/✗/–, the
// fix under each failure, every step's duration, 80 columns) and JSON (stable snake_case).
import { paint, type Style } from '../cli/format.js';
import type { CheckResult, SsoReport } from './doctor.js';

function wrap(text: string, indent: string, width = 80): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const piece = word.length > width - indent.length ? word.slice(0, width - indent.length - 1) + '…' : word;
    if (line && indent.length + line.length + 1 + piece.length > width) {
      out.push(indent + line);
      line = piece;
    } else line = line ? `${line} ${piece}` : piece;
  }
  if (line) out.push(indent + line);
  return out;
}

export function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms} ms`;
}

function mark(check: CheckResult, style: Style): string {
  if (check.status === 'skip') return '–';
  if (check.status === 'pass') return paint(style, 'green', '✓');
  return check.severity === 'warning' ? paint(style, 'yellow', '!') : paint(style, 'red', '✗');
}

export function formatHuman(report: SsoReport, style: Style): string {
  const lines: string[] = [];
  for (const p of report.payloads) {
    lines.push(...wrap(paint(style, 'bold', `${p.file}: ${p.payload_identifier ?? 'file'}`), ''));
    if (p.extension_identifier || p.hosts.length)
      lines.push(
        ...wrap(
          `${p.extension_identifier ?? '(no ExtensionIdentifier)'} team ${p.team_identifier ?? '?'}, ${p.type ?? '?'}${p.hosts.length ? `; hosts ${p.hosts.join(', ')}` : ''}`,
          '  ',
        ),
      );
    for (const c of p.checks) {
      const head = `${mark(c, style)} ${c.check}${c.target ? ` ${c.target}` : ''}: ${c.code === 'ok' ? c.detail : `${c.code}, ${c.detail}`} (${formatMs(c.duration_ms)})`;
      lines.push(...wrap(head, '  ').map((l, i) => (i === 0 ? l : `    ${l.trimStart()}`)));
      if (c.status === 'fail' && c.hint) lines.push(...wrap(`fix: ${c.hint}`, '      '));
    }
    lines.push('');
  }
  const s = report.summary;
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
  lines.push(
    `${plural(s.payloads, 'SSO payload')}: ${plural(s.errors, 'error')}, ${plural(s.warnings, 'warning')}, ${plural(s.notes, 'note')} (${formatMs(s.duration_ms)})`,
  );
  return lines.join('\n');
}

export function formatJson(report: SsoReport, exitCode: number): string {
  return JSON.stringify({ ...report, exit_code: exitCode }, null, 2);
}
