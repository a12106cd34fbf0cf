// Public suffixes ("co.uk", "s3.amazonaws.com"), for Apple's rule that a wildcard must not stand
// directly before one: SecDNSMatch (OSX/sec/Security/SecPolicyLeafCallbacks.c) refuses "*.B"
// when CFNetwork's _CFHostIsDomainTopLevelForCertificatePolicy says B is top-level. macOS uses
// its own list; on Linux the system's copy of the Public Suffix List (Debian's `publicsuffix`
// package) is read once, bounded. Without a list, only single-label suffixes are known
// (OpenSSL already refuses "*.com").
import { readFileSync } from 'node:fs';

const listPaths = ['/usr/share/publicsuffix/public_suffix_list.dat', '/usr/share/publicsuffix/effective_tld_names.dat'];
const maxListBytes = 4 * 1024 * 1024;

let rules: Set<string> | null = null;

function load(): Set<string> {
  const set = new Set<string>();
  for (const file of listPaths) {
    try {
      const text = readFileSync(file);
      if (text.length > maxListBytes) continue;
      for (const raw of text.toString('utf8').split('\n')) {
        const line = raw.trim().toLowerCase();
        if (line === '' || line.startsWith('//') || line.length > 253) continue;
        set.add(line.split(/\s/)[0]!);
      }
      if (set.size > 0) break;
    } catch {
      // No list on this machine.
    }
  }
  return set;
}

/** `domain` (ASCII, lower case) is a public suffix by the list's rules (wildcards and exceptions included). */
export function isPublicSuffix(domain: string): boolean {
  rules ??= load();
  const d = domain.toLowerCase().replace(/\.$/, '');
  if (!d.includes('.')) return true;
  if (rules.has(`!${d}`)) return false;
  if (rules.has(d)) return true;
  const parent = d.slice(d.indexOf('.') + 1);
  return rules.has(`*.${parent}`);
}
