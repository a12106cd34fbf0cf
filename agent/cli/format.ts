// Human output for agentctl: sections of aligned rows like `santactl status`, local dates,
// "Never" for what has not happened, colour only on a terminal.

export { styleFor, type Style } from './style.js';
import type { Style } from './style.js';

// eslint-disable-next-line no-control-regex
const ansi = /\u001b\[[0-9;]*m/g;

const surrogate = /[\ud800-\udfff]/;

/** The width of a text as a terminal shows it (colour codes take no room): its code points. */
export function visibleLength(text: string): number {
  // Called for every word that status wraps: no copy unless there is colour or a character
  // outside the Basic Multilingual Plane (issue 21: spreading every text cost status ~1 ms).
  const plain = text.includes('\u001b') ? text.replace(ansi, '') : text;
  return surrogate.test(plain) ? [...plain].length : plain.length;
}

/**
 * Breaks a text into lines of at most `width` at word boundaries; a word longer than a line
 * (a URL) is cut. Colour codes are kept and take no room.
 */
export function wrapText(text: string, width: number): string[] {
  const room = Math.max(10, width);
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/ +/)) {
    let rest = word;
    // A word longer than a line (a URL) is cut: its head fills the current line when 20
    // characters are left there, else it starts a line of its own.
    if (visibleLength(rest) > room) {
      if (line && room - visibleLength(line) - 1 < 20) {
        lines.push(line);
        line = '';
      }
      while (visibleLength(rest) > room - (line ? visibleLength(line) + 1 : 0)) {
        const fit = room - (line ? visibleLength(line) + 1 : 0);
        const chars = [...rest.replace(ansi, '')];
        lines.push(line ? `${line} ${chars.slice(0, fit).join('')}` : chars.slice(0, fit).join(''));
        line = '';
        rest = chars.slice(fit).join('');
      }
    }
    if (!line) line = rest;
    else if (visibleLength(line) + 1 + visibleLength(rest) <= room) line += ` ${rest}`;
    else {
      lines.push(line);
      line = rest;
    }
  }
  lines.push(line);
  return lines;
}

const codes = { red: 31, green: 32, yellow: 33, bold: 1, dim: 2 } as const;
export function paint(style: Style, colour: keyof typeof codes, text: string): string {
  return style.colour ? `\u001b[${codes[colour]}m${text}\u001b[0m` : text;
}

const acronyms: Record<string, string> = {
  ntp: 'NTP',
  https: 'HTTPS',
  http: 'HTTP',
  url: 'URL',
  urls: 'URLs',
  pid: 'PID',
  id: 'ID',
  rss: 'RSS',
  ca: 'CA',
  tls: 'TLS',
  sha256: 'SHA-256',
  sso: 'SSO',
  os: 'OS',
  rtt: 'RTT',
  ms: 'ms',
};

/** snake_case key → a row label: "last_run_at" → "Last run", "ntp_servers" → "NTP servers". */
export function labelFor(key: string): string {
  const words = key
    .replace(/_(at|s|ms|bytes)$/, '')
    .split('_')
    .filter(Boolean);
  const text = words.map((w, i) => acronyms[w] ?? (i === 0 ? w[0]!.toUpperCase() + w.slice(1) : w)).join(' ');
  return text || key;
}

export function formatDate(value: unknown): string {
  if (value === null || value === undefined || value === '') return 'Never';
  const date = new Date(value as string | number);
  if (Number.isNaN(date.getTime())) return String(value);
  // Local time with the zone, so support staff compare with the user's clock.
  const pad = (n: number) => String(n).padStart(2, '0');
  const offset = -date.getTimezoneOffset();
  const zone = `${offset >= 0 ? '+' : '-'}${pad(Math.floor(Math.abs(offset) / 60))}${pad(Math.abs(offset) % 60)}`;
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())} ${zone}`;
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const parts = [d ? `${d}d` : '', h ? `${h}h` : '', m ? `${m}m` : '', `${s % 60}s`].filter(Boolean);
  return parts.slice(0, 3).join(' ');
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

// Colour by meaning only: a state word that says ok, warning or problem. Plain yes/no answers
// ("Enforced | No") are facts, not verdicts, and stay uncoloured.
const goodWords = new Set(['ok', 'compliant', 'authorized', 'trusted', 'idle']);
const warnWords = new Set(['warn', 'uncertain', 'not determined', 'unknown', 'backing_off']);
const badWords = new Set(['active', 'non_compliant', 'denied', 'untrusted', 'error', 'failed', 'restricted']);

/** One value as text, by what its key says it is. */
export function formatValue(key: string, value: unknown, style: Style): string {
  if (key.endsWith('_at')) return formatDate(value);
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'number') {
    if (key.endsWith('_s') && key !== 'interval_s') return formatDuration(value);
    if (key.endsWith('_s')) return `${value} s`;
    if (key.endsWith('_ms')) return `${Number.isInteger(value) ? value : value.toFixed(1)} ms`;
    if (key.endsWith('_bytes')) return formatBytes(value);
    return String(value);
  }
  if (typeof value === 'boolean') return value ? 'Yes' : 'No';
  if (typeof value === 'string') {
    const lower = value.toLowerCase();
    if (key.includes('error') && value && value !== 'None') return paint(style, 'red', value);
    if (goodWords.has(lower)) return paint(style, 'green', value);
    if (warnWords.has(lower)) return paint(style, 'yellow', value);
    if (badWords.has(lower)) return paint(style, 'red', value);
    return value;
  }
  if (Array.isArray(value))
    return value.length === 0
      ? 'None'
      : value.map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v))).join(', ');
  return JSON.stringify(value);
}

export type Row = [label: string, value: string];

/** Flattens a section object into rows; nested objects and lists of objects become indented rows. */
export function rowsFor(section: Record<string, unknown>, style: Style, indent = ''): Row[] {
  const rows: Row[] = [];
  for (const [key, value] of Object.entries(section)) {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const entries = Object.entries(value);
      if (entries.length === 0) {
        rows.push([indent + labelFor(key), 'None']);
        continue;
      }
      rows.push([indent + labelFor(key), '']);
      const allObjects = entries.every(([, v]) => v !== null && typeof v === 'object' && !Array.isArray(v));
      if (allObjects) {
        for (const [name, inner] of entries) {
          rows.push([`${indent}  ${name}`, '']);
          rows.push(...rowsFor(inner as Record<string, unknown>, style, `${indent}    `));
        }
      } else {
        rows.push(...rowsFor(value as Record<string, unknown>, style, `${indent}  `));
      }
      continue;
    }
    if (
      Array.isArray(value) &&
      value.length > 0 &&
      value.every((v) => v !== null && typeof v === 'object' && !Array.isArray(v))
    ) {
      rows.push([indent + labelFor(key), `${value.length}`]);
      for (const item of value as Array<Record<string, unknown>>) {
        const [firstKey, firstValue] = Object.entries(item)[0] ?? ['', ''];
        rows.push([`${indent}  ${String(firstValue)}`, '']);
        const rest = Object.fromEntries(Object.entries(item).filter(([k]) => k !== firstKey));
        rows.push(...rowsFor(rest, style, `${indent}    `));
      }
      continue;
    }
    rows.push([indent + labelFor(key), formatValue(key, value, style)]);
  }
  return rows;
}

/**
 * A titled block of `label | value` rows that fits `style.columns`: a long value wraps inside
 * its column at word boundaries, a label wider than its column gets a line of its own, and a
 * bare line (a row with an empty value) wraps under itself.
 */
export function renderSection(title: string, rows: Row[] | string, style: Style, width = 28): string {
  const head = paint(style, 'bold', `>>> ${title}`);
  const columns = style.columns ?? 80;
  if (typeof rows === 'string')
    return [head, ...wrapText(rows, columns - 2).map((l) => `  ${paint(style, 'dim', l)}`)].join('\n');
  // The label column shrinks when the terminal is narrow, so that a value keeps 30 characters.
  const labelWidth = Math.max(8, Math.min(width, columns - 5 - 30));
  const blank = `  ${''.padEnd(labelWidth)} | `;
  const lines: string[] = [];
  for (const [label, value] of rows) {
    if (value === '') {
      const indent = /^ */.exec(label)![0].length + 2;
      wrapText(label.trimStart(), columns - indent - 2).forEach((l, i) =>
        lines.push(`${' '.repeat(i === 0 ? indent : indent + 2)}${l}`),
      );
      continue;
    }
    const wrapped = wrapText(value, columns - blank.length);
    if (visibleLength(label) > labelWidth) lines.push(...wrapText(label, columns - 2).map((l) => `  ${l}`));
    else lines.push(`  ${label.padEnd(labelWidth)} | ${wrapped.shift()!}`);
    for (const l of wrapped) lines.push(`${blank}${l}`);
  }
  return [head, ...lines].join('\n');
}
