// Parsers of the macOS commands Apple's, Microsoft's and Okta's SSO checklists run by hand, and
// the one way they are run (a deadline, bounded output). Pure parsers: text in, a state out.
// Every parser tells "could not parse" (malformed), "nothing there" (not_registered) and "there
// but lacking what the check needs" (incomplete) apart from a healthy answer: a probe that
// takes an unknown output for a healthy one is the failure mode avoided here.
//
// Output formats, as public sources show them (test/fixtures/sso/ holds one sample per state,
// each naming its source):
// - pluginkit -m -v: one line per plug-in, an election mark (+ use, - ignore, ! debug,
//   = superseded, ? unknown: pluginkit(8)), then "id(version)", UUID, date and path, tab-separated.
// - swcutil show: blocks of "Key: value" lines (Service, App ID, Domain, User Approval,
//   Site/Fmwk Approval, Flags...), separated by a line of dashes (Apple TN3155).
// - codesign -d --entitlements -: on macOS 12 and later "[Dict] / [Key] / [Value] / [Array] /
//   [String]" lines; earlier (or with --xml) an XML plist.
// - app-sso platform -s: "Device Configuration:", "Login Configuration:", "User Configuration:"
//   each followed by a JSON object or "(null)", then "SSO Tokens:" with Received/Expiration.
import { execFile } from 'node:child_process';
import { parseXmlPlist } from '../config/xml-plist.js';
import { shown } from './association.js';

export type CommandRun =
  | { state: 'ok'; stdout: string; ms: number }
  | { state: 'missing'; message: string; ms: number }
  | { state: 'timed_out'; message: string; ms: number }
  | { state: 'failed'; message: string; stdout: string; ms: number };

export const commandOutputLimit = 4 * 1024 * 1024;

/** Runs one command with a deadline (and `signal`: killed when it aborts); its output is bounded. Never rejects. */
export function runCommand(file: string, args: string[], timeoutMs: number, signal?: AbortSignal): Promise<CommandRun> {
  const started = performance.now();
  return new Promise((resolve) => {
    if (signal?.aborted)
      return resolve({ state: 'timed_out', message: `${file} not run: the deadline has passed`, ms: 0 });
    execFile(
      file,
      args,
      {
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: commandOutputLimit,
        encoding: 'utf8',
        env: { ...process.env, LC_ALL: 'C' },
        signal,
      },
      (error, stdout, stderr) => {
        const ms = Math.round(performance.now() - started);
        if (!error) return resolve({ state: 'ok', stdout, ms });
        const e = error as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null; code?: unknown };
        if (e.code === 'ENOENT') return resolve({ state: 'missing', message: `${file} not found`, ms });
        if (e.code === 'ABORT_ERR')
          return resolve({ state: 'timed_out', message: `${file} stopped: the deadline has passed`, ms });
        if (e.killed || e.signal === 'SIGKILL')
          return resolve({ state: 'timed_out', message: `${file} did not finish within ${timeoutMs} ms`, ms });
        const why = shown((stderr || e.message).trim().split('\n').slice(-1)[0] ?? '', 160);
        resolve({ state: 'failed', message: `${file} exited with ${String(e.code ?? e.signal)}: ${why}`, stdout, ms });
      },
    );
  });
}

export type Parsed<T> =
  | { state: 'ok'; value: T }
  | { state: 'not_registered'; detail: string }
  | { state: 'incomplete'; detail: string }
  | { state: 'malformed'; detail: string };

// pluginkit -m -v -i <id>

export interface PluginCopy {
  election: '+' | '-' | '!' | '=' | '?' | ' ';
  identifier: string;
  version: string;
  path: string | null;
}

const pluginLine =
  /^\s*([+\-!=?])?\s*([A-Za-z0-9][A-Za-z0-9.\-_]*)\(([^)]{0,64})\)(?:\s+([0-9A-Fa-f-]{36}))?(?:\s+(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}))?(?:\s+(\/.*))?\s*$/;

export function parsePluginkit(text: string, extensionIdentifier: string): Parsed<PluginCopy[]> {
  const lines = text
    .split('\n')
    .slice(0, 1000)
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.trim() !== '');
  if (lines.length === 0 || lines.every((l) => /no matches/i.test(l)))
    return { state: 'not_registered', detail: `pluginkit lists no ${shown(extensionIdentifier, 100)}` };
  const copies: PluginCopy[] = [];
  for (const line of lines) {
    const m = pluginLine.exec(line);
    if (!m) return { state: 'malformed', detail: `unexpected line: ${shown(line, 100)}` };
    copies.push({
      election: (m[1] ?? ' ') as PluginCopy['election'],
      identifier: m[2]!,
      version: m[3]!,
      path: m[6] ? m[6].slice(0, 1024) : null,
    });
  }
  const mine = copies.filter((c) => c.identifier === extensionIdentifier);
  if (mine.length === 0)
    return {
      state: 'not_registered',
      detail: `pluginkit lists ${copies
        .slice(0, 3)
        .map((c) => shown(c.identifier, 80))
        .join(', ')}, not ${shown(extensionIdentifier, 100)}`,
    };
  if (mine.some((c) => c.path === null))
    return { state: 'incomplete', detail: 'pluginkit gave no path for the extension (was -v given?)' };
  return { state: 'ok', value: mine };
}

/** The container app of an extension path: …/X.app/Contents/PlugIns/Y.appex → …/X.app. */
export function containerAppOf(appexPath: string): string | null {
  const m = /^(\/.*?\.app)\/Contents\/PlugIns\/[^/]+\.appex\/?$/.exec(appexPath);
  return m ? m[1]! : null;
}

// swcutil show

export interface SwcEntry {
  service: string;
  appId: string | null;
  domain: string;
  userApproval: string | null;
  siteApproval: string | null;
  flags: string[];
}

export function parseSwcutilShow(text: string, host: string): Parsed<SwcEntry[]> {
  const bounded = text.slice(0, commandOutputLimit);
  if (bounded.trim() === '') return { state: 'not_registered', detail: 'swcutil show lists no entries' };
  if (!/^\s*Service\s*:/m.test(bounded)) return { state: 'malformed', detail: 'no "Service:" line in the output' };
  const entries: Array<Record<string, string>> = [];
  let current: Record<string, string> | null = null;
  for (const raw of bounded.split('\n').slice(0, 200_000)) {
    const line = raw.replace(/\r$/, '');
    if (/^-{10,}\s*$/.test(line)) {
      current = null;
      continue;
    }
    const m = /^\s*([A-Za-z][A-Za-z /]*?)\s*:\s*(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === 'Service' || !current) {
      current = {};
      entries.push(current);
    }
    current[m[1]!] = m[2]!.trim().slice(0, 1024);
  }
  const wanted = host.toLowerCase();
  const mine = entries
    .filter((e) => e.Service === 'authsrv' && (e.Domain ?? '').split('?')[0]!.toLowerCase() === wanted)
    .map((e): SwcEntry => ({
      service: 'authsrv',
      appId: e['App ID'] ?? null,
      domain: e.Domain!,
      userApproval: e['User Approval'] ?? null,
      siteApproval: e['Site/Fmwk Approval'] ?? null,
      flags: (e.Flags ?? '')
        .split(/[\s,]+/)
        .filter(Boolean)
        .slice(0, 16),
    }));
  if (mine.length === 0) return { state: 'not_registered', detail: `no authsrv entry for ${shown(host, 100)}` };
  if (mine.some((e) => e.siteApproval === null))
    return { state: 'incomplete', detail: 'the authsrv entry has no "Site/Fmwk Approval" line' };
  return { state: 'ok', value: mine };
}

// codesign -d --entitlements -

export interface Entitlements {
  associatedDomains: string[] | null;
  applicationIdentifier: string | null;
}

const domainsKey = 'com.apple.developer.associated-domains';

export function parseEntitlements(text: string): Parsed<Entitlements> {
  const bounded = text.slice(0, commandOutputLimit);
  const start = bounded.indexOf('<?xml') >= 0 ? bounded.indexOf('<?xml') : bounded.indexOf('<plist');
  if (start >= 0) {
    let value: unknown;
    try {
      value = parseXmlPlist(bounded.slice(start), { maxDepth: 32, maxObjects: 100_000 });
    } catch (error) {
      return {
        state: 'malformed',
        detail: `the entitlements plist does not parse: ${shown((error as Error).message, 100)}`,
      };
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      return { state: 'malformed', detail: 'the entitlements are not a dictionary' };
    const dict = value as Record<string, unknown>;
    const domains = dict[domainsKey];
    return {
      state: 'ok',
      value: {
        associatedDomains: Array.isArray(domains)
          ? domains.filter((d): d is string => typeof d === 'string').slice(0, 1000)
          : typeof domains === 'string'
            ? [domains]
            : null,
        applicationIdentifier:
          typeof dict['application-identifier'] === 'string' ? dict['application-identifier'] : null,
      },
    };
  }
  const lines = bounded
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.trim() !== '' && !/^Executable=/.test(l));
  if (lines.length === 0) return { state: 'ok', value: { associatedDomains: null, applicationIdentifier: null } };
  if (lines[0]!.trim() !== '[Dict]') return { state: 'malformed', detail: `unexpected output: ${shown(lines[0], 80)}` };
  const indent = (l: string) => /^[\t ]*/.exec(l)![0].replace(/\t/g, '    ').length;
  const valuesOf = (key: string): string[] | null | 'incomplete' => {
    const at = lines.findIndex((l) => l.trim() === `[Key] ${key}`);
    if (at < 0) return null;
    const level = indent(lines[at]!);
    if (lines[at + 1]?.trim() !== '[Value]') return 'incomplete';
    const out: string[] = [];
    for (const line of lines.slice(at + 2)) {
      if (indent(line) <= level) break;
      const m = /^\s*\[String\] (.*)$/.exec(line);
      if (m) out.push(m[1]!.slice(0, 1024));
    }
    return out;
  };
  const domains = valuesOf(domainsKey);
  const app = valuesOf('application-identifier');
  if (domains === 'incomplete' || app === 'incomplete')
    return { state: 'incomplete', detail: 'an entitlement key has no [Value]' };
  return { state: 'ok', value: { associatedDomains: domains, applicationIdentifier: app?.[0] ?? null } };
}

/** authsrv hosts of the associated-domains entitlement (`?mode=developer` kept apart). */
export function authsrvEntries(domains: readonly string[]): Array<{ host: string; developer: boolean }> {
  return domains
    .filter((d) => d.startsWith('authsrv:'))
    .map((d) => {
      const [host, query] = d.slice('authsrv:'.length).split('?');
      return { host: host!.toLowerCase(), developer: /(^|&)mode=developer($|&)/.test(query ?? '') };
    });
}

// app-sso platform -s

export interface PlatformSsoState {
  extensionIdentifier: string | null;
  deviceRegistered: boolean;
  loginType: string | null;
  userState: string | null;
  userRegistered: boolean | null;
  tokensReceived: string | null;
  tokensExpiration: string | null;
}

type SectionName = 'Device Configuration' | 'Login Configuration' | 'User Configuration' | 'SSO Tokens';

function jsonSection(text: string): { value: Record<string, unknown> | null } | { error: string } {
  const body = text.trim();
  if (body === '(null)' || body === '') return { value: null };
  try {
    const v: unknown = JSON.parse(body);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return { error: 'not an object' };
    return { value: v as Record<string, unknown> };
  } catch {
    // Some macOS versions print backslashes JSON does not allow (e.g. "\@"): drop the stray ones.
    try {
      const v: unknown = JSON.parse(body.replace(/\\(?!["\\/bfnrtu])/g, ''));
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) return { value: v as Record<string, unknown> };
    } catch {
      /* reported below */
    }
    return { error: 'not JSON' };
  }
}

/** Attributes only: no token, key or credential value is read into the result. */
export function parseAppSsoPlatform(text: string): Parsed<PlatformSsoState> {
  const bounded = text.slice(0, commandOutputLimit);
  const heads = [
    ...bounded.matchAll(/^(Device Configuration|Login Configuration|User Configuration|SSO Tokens):[ \t]*$/gm),
  ];
  if (!heads.some((h) => h[1] === 'Device Configuration'))
    return { state: 'malformed', detail: 'no "Device Configuration:" section' };
  const sections = new Map<string, string>();
  heads.forEach((h, i) => {
    const from = h.index! + h[0].length;
    const to = i + 1 < heads.length ? heads[i + 1]!.index! : bounded.length;
    if (!sections.has(h[1]!)) sections.set(h[1]!, bounded.slice(from, to));
  });
  const parsed: Partial<Record<SectionName, Record<string, unknown> | null>> = {};
  for (const name of ['Device Configuration', 'Login Configuration', 'User Configuration'] as const) {
    const raw = sections.get(name);
    if (raw === undefined) continue;
    const result = jsonSection(raw);
    if ('error' in result) return { state: 'malformed', detail: `${name}: ${result.error}` };
    parsed[name] = result.value;
  }
  const device = parsed['Device Configuration'] ?? null;
  if (device === null)
    return { state: 'not_registered', detail: 'Device Configuration is (null): no Platform SSO on this Mac' };
  if (typeof device.registrationCompleted !== 'boolean')
    return { state: 'incomplete', detail: 'Device Configuration has no registrationCompleted' };
  const user = parsed['User Configuration'] ?? null;
  const tokens = sections.get('SSO Tokens') ?? '';
  const after = (label: string) => {
    const m = new RegExp(`^${label}:\\s*\\n\\s*([^\\n]{1,80})`, 'm').exec(tokens);
    return m ? m[1]!.trim() : null;
  };
  const str = (v: unknown) => (typeof v === 'string' ? v.slice(0, 120) : null);
  const userState = user ? str(user.state) : null;
  if (user !== null && userState === null) return { state: 'incomplete', detail: 'User Configuration has no state' };
  return {
    state: 'ok',
    value: {
      extensionIdentifier: str(device.extensionIdentifier),
      deviceRegistered: device.registrationCompleted,
      loginType: str(user?.loginType) ?? str(device.loginType),
      userState,
      userRegistered: user === null ? null : /^POUserStateNormal\b/.test(userState ?? ''),
      tokensReceived: after('Received'),
      tokensExpiration: after('Expiration'),
    },
  };
}
