// The three outputs of `agentctl doctor profile`: human (one line per check, ✓/✗, grouped by
// file and payload, the fix under each failure, 80 columns), JSON (stable snake_case), and
// SARIF 2.1.0 (rule id = code, location = file and line: GitHub code scanning shows the findings
// on the profile's lines).
import path from 'node:path';
import { printable } from '../bounded-text.js';
import { paint, type Style } from '../cli/format.js';
import { findingCodes, type Category, type Finding } from './codes.js';
import type { DoctorReport } from './doctor.js';

const checkNames: Record<Category, string> = {
  parse: 'parses',
  signature: 'signature',
  identity: 'identifiers',
  schema: 'schema',
  certificate: 'certificates',
  sso: 'SSO payloads',
  across: 'across the files',
};

/** Wraps `text` at 80 columns with `indent` on every line. */
function wrap(text: string, indent: string, width = 80): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && indent.length + line.length + 1 + word.length > width) {
      out.push(indent + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(indent + line);
  return out;
}

function where(f: Finding): string {
  const parts = [
    f.key_path === null ? null : printable(f.key_path),
    f.line !== null ? `line ${f.line}${f.column !== null ? `:${f.column}` : ''}` : null,
  ].filter(Boolean);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

export function formatHuman(report: DoctorReport, style: Style): string {
  const lines: string[] = [];
  for (const file of report.files) {
    lines.push(paint(style, 'bold', printable(file.file)));
    const what = file.parsed
      ? [
          file.kind,
          file.format === 'binary' ? 'binary plist' : 'XML',
          file.container === 'plain' ? null : 'signed (CMS)',
        ]
          .filter(Boolean)
          .join(', ')
      : null;
    if (what) lines.push(`  ${what}; ${file.payloads.filter((p) => p.key_path !== '').length} payload(s)`);
    if (file.signer)
      lines.push(
        ...wrap(`signer: ${printable(file.signer.subject)} (until ${file.signer.not_after.slice(0, 10)})`, '  '),
      );
    for (const [category, status] of Object.entries(file.checks) as Array<[Category, string]>) {
      if (status === 'not_applicable') continue;
      const mark = status === 'pass' ? paint(style, 'green', '✓') : status === 'fail' ? paint(style, 'red', '✗') : '-';
      lines.push(`  ${mark} ${checkNames[category]}${status === 'not_run' ? ' (not run)' : ''}`);
    }
    // Grouped by payload, problems first.
    const groups = new Map<string, Finding[]>();
    for (const f of file.findings) {
      const key = f.payload_type === null ? '' : `${f.payload_type} ${f.payload_identifier ?? ''}`.trim();
      groups.set(key, [...(groups.get(key) ?? []), f]);
    }
    for (const [group, findings] of groups) {
      lines.push(group ? `  payload ${printable(group)}` : '  file');
      for (const f of findings) {
        const mark =
          f.severity === 'error'
            ? paint(style, 'red', '✗')
            : f.severity === 'warning'
              ? paint(style, 'yellow', '!')
              : 'i';
        lines.push(...wrap(`${mark} ${f.code}: ${printable(f.message)}${where(f)}`, '    '));
        if (f.severity !== 'note' && f.fix) lines.push(...wrap(`fix: ${f.fix}`, '        '));
      }
    }
    lines.push('');
  }
  const s = report.summary;
  lines.push(
    `${s.files} file${s.files === 1 ? '' : 's'}: ${s.errors} error${s.errors === 1 ? '' : 's'}, ${s.warnings} warning${s.warnings === 1 ? '' : 's'}, ${s.notes} note${s.notes === 1 ? '' : 's'}`,
  );
  return lines.join('\n');
}

export function formatJson(report: DoctorReport, exitCode: number): string {
  return JSON.stringify({ ...report, exit_code: exitCode }, null, 2);
}

/** A file's URI for SARIF: relative to the working directory when inside it, forward slashes. */
function artifactUri(file: string): string {
  const relative = path.relative(process.cwd(), path.resolve(file));
  const inside = relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
  const p = inside ? relative.split(path.sep).join('/') : path.resolve(file).split(path.sep).join('/');
  const encoded = p
    .split('/')
    .map((s) => encodeURIComponent(s))
    .join('/');
  return inside ? encoded : `file://${encoded}`;
}

export function formatSarif(report: DoctorReport, version: string): string {
  const used = [...new Set(report.files.flatMap((f) => f.findings.map((x) => x.code)))].sort();
  const rules = used.map((code) => {
    const info = findingCodes[code];
    return {
      id: code,
      name: code,
      shortDescription: { text: `${info.category}: ${code.replace(/_/g, ' ')}` },
      help: { text: info.fix || 'No action needed.' },
      defaultConfiguration: { level: info.severity },
      properties: { category: info.category },
    };
  });
  const results = report.files.flatMap((file) =>
    file.findings.map((f) => {
      const region =
        f.line !== null ? { startLine: f.line, ...(f.column !== null ? { startColumn: f.column } : {}) } : undefined;
      return {
        ruleId: f.code,
        ruleIndex: used.indexOf(f.code),
        level: f.severity,
        message: { text: `${f.message}${f.fix && f.severity !== 'note' ? ` Fix: ${f.fix}` : ''}` },
        locations: [
          {
            physicalLocation: { artifactLocation: { uri: artifactUri(file.file) }, ...(region ? { region } : {}) },
            ...(f.key_path || f.payload_type
              ? {
                  logicalLocations: [
                    {
                      name: f.key_path ?? f.payload_type ?? '',
                      fullyQualifiedName: [f.payload_type, f.payload_identifier, f.key_path].filter(Boolean).join('/'),
                      kind: 'member',
                    },
                  ],
                }
              : {}),
          },
        ],
        properties: { payload_type: f.payload_type, payload_identifier: f.payload_identifier, key_path: f.key_path },
      };
    }),
  );
  return JSON.stringify(
    {
      $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
      version: '2.1.0',
      runs: [
        {
          tool: {
            driver: {
              name: 'TrustGuard agentctl doctor profile',
              version,
              rules,
            },
          },
          results,
        },
      ],
    },
    null,
    2,
  );
}
