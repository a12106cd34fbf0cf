// Configuration profiles made in tests: XML plists of payloads, written to a temporary folder.
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

export type PlistValue = string | number | boolean | Buffer | PlistValue[] | { [key: string]: PlistValue };

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function toXml(value: PlistValue, indent: string): string {
  if (typeof value === 'string') return `${indent}<string>${escape(value)}</string>`;
  if (typeof value === 'number') return `${indent}<integer>${value}</integer>`;
  if (typeof value === 'boolean') return `${indent}<${value}/>`;
  if (Buffer.isBuffer(value)) return `${indent}<data>${value.toString('base64')}</data>`;
  if (Array.isArray(value))
    return `${indent}<array>\n${value.map((v) => toXml(v, `${indent}  `)).join('\n')}\n${indent}</array>`;
  const entries = Object.entries(value).map(
    ([k, v]) => `${indent}  <key>${escape(k)}</key>\n${toXml(v, `${indent}  `)}`,
  );
  return `${indent}<dict>\n${entries.join('\n')}\n${indent}</dict>`;
}

export function plistXml(value: PlistValue): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n<plist version="1.0">\n${toXml(value, '')}\n</plist>\n`;
}

/** A payload of `type` with its identity keys filled in. */
export function payload(
  type: string,
  settings: Record<string, PlistValue>,
  id = randomUUID(),
): Record<string, PlistValue> {
  return {
    PayloadType: type,
    PayloadIdentifier: `com.example.test.${id}`,
    PayloadUUID: id.toUpperCase(),
    PayloadVersion: 1,
    ...settings,
  };
}

/** A profile around `payloads`, written as `name` in `dir`; returns its path. */
export function writeProfile(
  dir: string,
  name: string,
  payloads: Array<Record<string, PlistValue>>,
  top: Record<string, PlistValue> = {},
): string {
  const id = randomUUID();
  const file = path.join(dir, name);
  writeFileSync(
    file,
    plistXml({
      PayloadType: 'Configuration',
      PayloadIdentifier: `com.example.profile.${id}`,
      PayloadUUID: id.toUpperCase(),
      PayloadVersion: 1,
      PayloadScope: 'System',
      PayloadDisplayName: name,
      PayloadContent: payloads,
      ...top,
    }),
  );
  return file;
}
