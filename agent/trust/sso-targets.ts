// macOS: the IdP hosts of installed Extensible SSO payloads (com.apple.extensiblesso) become
// trust targets. `profiles show -output stdout-xml` prints the installed profiles as a plist;
// a Redirect-type payload lists the IdP's https URLs under `URLs`.
import { execFile } from 'node:child_process';

const PROFILES = '/usr/bin/profiles';
const SSO_PAYLOAD = 'com.apple.extensiblesso';
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

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
      if (typeof url !== 'string') continue;
      try {
        const parsed = new URL(url);
        if (parsed.protocol === 'https:') out.add(`https://${parsed.host}/`);
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

/**
 * Runs `profiles show -output stdout-xml` (macOS, as root: device profiles are root's to read);
 * [] elsewhere, for another user, or when it fails.
 */
export async function installedSsoTargets(timeoutMs = 5_000): Promise<{ targets: string[]; error: string | null }> {
  if (process.platform !== 'darwin' || process.getuid?.() !== 0) return { targets: [], error: null };
  const xml = await new Promise<string | Error>((resolve) => {
    execFile(
      PROFILES,
      ['show', '-output', 'stdout-xml'],
      { timeout: timeoutMs, maxBuffer: MAX_OUTPUT_BYTES, encoding: 'utf8' },
      (error, stdout) => resolve(error ? error : stdout),
    );
  });
  if (xml instanceof Error) return { targets: [], error: `profiles show failed: ${xml.message.split('\n')[0]}` };
  try {
    const plist = await import('plist');
    return { targets: ssoTargetsFromProfiles(plist.parse(xml)), error: null };
  } catch (error) {
    return { targets: [], error: `cannot parse the output of profiles show: ${(error as Error).message}` };
  }
}
