// The parser process's side of `sso.installed` (agent/config/parse-process.ts, task
// 'sso_installed'): reads `profiles show -output stdout-xml` output with the one profile reader
// and answers only the reduced SSO payloads (installed.ts): the tree, ExtensionData included,
// never leaves this process.
import { configLimits } from '../config/bounded-parse.js';
import { payloadsOf, readProfileBytes } from '../profiles/reader.js';
import { reduceInstalled, type InstalledPayloads } from './installed.js';

/** As agent/trust/sso-targets.ts bounds `profiles show` output. */
export const maxOutputBytes = 16 * 1024 * 1024;

export interface InstalledRequest {
  task: 'sso_installed';
  bytes: Uint8Array;
}

export type InstalledTaskAnswer = ({ ok: true } & InstalledPayloads) | { ok: false; message: string };

/** Runs in the parser process. Never throws for anything the bytes hold. */
export function answerInstalledRequest(request: InstalledRequest): InstalledTaskAnswer {
  try {
    const { bytes } = request;
    // No profile installed: nothing, or an empty dictionary, is no payload rather than a failure.
    const none = { ok: true as const, payloads: [], left_out: 0, associated: [] };
    if (Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1').trim() === '') return none;
    const read = readProfileBytes(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), 'profiles show', {
      ...configLimits,
      maxBytes: maxOutputBytes,
      // A Mac's installed profiles hold far more objects than one configuration file.
      maxObjects: 400_000,
    });
    if (!read.ok) return { ok: false, message: `${read.code}: ${read.message.slice(0, 300)}` };
    if (read.document.kind !== 'installed' && Object.keys(read.document.root).length === 0) return none;
    if (read.document.kind !== 'installed')
      return { ok: false, message: 'not_installed_profiles: the output is not the installed-profiles list' };
    return { ok: true, ...reduceInstalled(payloadsOf(read.document)) };
  } catch (error) {
    return { ok: false, message: String((error as Error)?.message ?? error).slice(0, 300) };
  }
}
