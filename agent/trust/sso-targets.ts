// macOS: the IdP hosts of installed Extensible SSO payloads (com.apple.extensiblesso) become
// trust targets. `profiles show -output stdout-xml` prints the installed profiles as a plist;
// a Redirect-type payload lists the IdP's https URLs under `URLs`. The output (up to 16 MB) is
// parsed in the parser process (agent/config/parse-process.ts), never in agentd, and at most
// maxSsoTargets targets come back.
import { execFile } from 'node:child_process';
import { askParserProcess, configLimits } from '../config/bounded-parse.js';
import { parseXmlPlist } from '../config/xml-plist.js';

const PROFILES = '/usr/bin/profiles';
const SSO_PAYLOAD = 'com.apple.extensiblesso';
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
/** As many as TrustTargets may name. */
export const maxSsoTargets = 64;

function collect(node: unknown, out: Set<string>, depth: number): void {
  if (depth > 32 || node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const item of node) collect(item, out, depth + 1);
    return;
  }
  const dict = node as Record<string, unknown>;
  if (dict.PayloadType === SSO_PAYLOAD) {
    const content = (
      dict.PayloadContent !== null && typeof dict.PayloadContent === 'object' ? dict.PayloadContent : dict
    ) as Record<string, unknown>;
    const urls = Array.isArray(content.URLs) ? content.URLs : Array.isArray(dict.URLs) ? dict.URLs : [];
    for (const url of urls) {
      if (typeof url !== 'string' || url.length > 2048) continue;
      try {
        const parsed = new URL(url);
        if (parsed.protocol === 'https:' && parsed.hostname.length <= 253) out.add(`https://${parsed.host}/`);
      } catch {
        // not a URL: the SSO doctor reports it
      }
    }
  }
  for (const value of Object.values(dict)) collect(value, out, depth + 1);
}

/** The IdP origins (https://host/) named by Extensible SSO payloads in a parsed `profiles` plist. */
export function ssoTargetsFromProfiles(parsed: unknown): string[] {
  const out = new Set<string>();
  collect(parsed, out, 0);
  return [...out].sort();
}

export interface SsoTargetsAnswer {
  /** The first maxSsoTargets targets, sorted. */
  targets: string[];
  /** How many more the payloads name. */
  leftOut: number;
  error: string | null;
}

/** Parses `profiles` output (XML plist bytes); runs in the parser process. Never throws. */
export async function ssoTargetsFromOutput(bytes: Uint8Array): Promise<SsoTargetsAnswer> {
  try {
    // The one XML property-list reader (config/xml-plist.ts), bounded as `sso.installed` bounds
    // the same output (agent/sso/installed-task.ts): a Mac's profiles hold many objects.
    const parsed = parseXmlPlist(Buffer.from(bytes).toString('utf8'), { ...configLimits, maxObjects: 400_000 });
    const all = ssoTargetsFromProfiles(parsed);
    return { targets: all.slice(0, maxSsoTargets), leftOut: Math.max(0, all.length - maxSsoTargets), error: null };
  } catch (error) {
    const message = (error as Error)?.message ?? String(error);
    return {
      targets: [],
      leftOut: 0,
      error: `cannot parse the output of profiles show: ${message.split('\n')[0]!.slice(0, 300)}`,
    };
  }
}

/** ssoTargetsFromOutput in the parser process: agentd neither loads the XML parser nor holds the tree. */
export async function ssoTargetsInParser(bytes: Uint8Array, timeoutMs = 10_000): Promise<SsoTargetsAnswer> {
  try {
    const answer = await askParserProcess<SsoTargetsAnswer>({ task: 'sso_targets', bytes }, timeoutMs);
    // The answer is bounded by the child; check it anyway, it crossed a process boundary.
    const targets = Array.isArray(answer?.targets)
      ? answer.targets.filter((t): t is string => typeof t === 'string' && t.length <= 300).slice(0, maxSsoTargets)
      : [];
    const leftOut = typeof answer?.leftOut === 'number' ? answer.leftOut : 0;
    const error = typeof answer?.error === 'string' ? answer.error.slice(0, 400) : null;
    return { targets, leftOut, error };
  } catch (error) {
    return { targets: [], leftOut: 0, error: `cannot parse the output of profiles show: ${(error as Error).message}` };
  }
}

/**
 * Runs `profiles show -output stdout-xml` (macOS, as root: device profiles are root's to read);
 * [] elsewhere, for another user, or when it fails.
 */
export async function installedSsoTargets(timeoutMs = 5_000): Promise<{ targets: string[]; error: string | null }> {
  if (process.platform !== 'darwin' || process.getuid?.() !== 0) return { targets: [], error: null };
  const output = await new Promise<Buffer | Error>((resolve) => {
    execFile(
      PROFILES,
      ['show', '-output', 'stdout-xml'],
      { timeout: timeoutMs, maxBuffer: MAX_OUTPUT_BYTES, encoding: 'buffer' },
      (error, stdout) => resolve(error ? error : stdout),
    );
  });
  if (output instanceof Error)
    return { targets: [], error: `profiles show failed: ${output.message.split('\n')[0]!.slice(0, 300)}` };
  const answer = await ssoTargetsInParser(output);
  const error =
    answer.error ??
    (answer.leftOut > 0
      ? `the SSO payloads name ${answer.leftOut} more hosts than the ${maxSsoTargets} checked; they are left out`
      : null);
  return { targets: answer.targets, error };
}
