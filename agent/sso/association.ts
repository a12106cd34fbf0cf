// What an apple-app-site-association answer means for one SSO payload: pure, no I/O. Apple's
// rules (Supporting associated domains, developer.apple.com/documentation/xcode/supporting-
// associated-domains): the file is served at /.well-known/apple-app-site-association with no
// redirect, status 200, as JSON; the SSO entry is "authsrv": {"apps": ["<TeamID>.<bundle ID>"]}
// naming the app that holds the entitlement, the container of the extension. The 128 KB limit
// is the one Apple states for the file in the same article.
import type { SsoDoctorCode } from './codes.js';

export const associationMaxBytes = 128 * 1024;

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | undefined>;
  body: Buffer;
  /** The body was longer than the limit read (only the limit was read). */
  truncated: boolean;
}

export interface Verdict {
  code: SsoDoctorCode;
  detail: string;
}

/** The container app's bundle ID: the ExtensionIdentifier without its last component. */
export function containerBundleId(extensionIdentifier: string): string | null {
  const parts = extensionIdentifier.split('.');
  if (parts.length < 3 || parts.some((p) => p === '' || !/^[A-Za-z0-9-]+$/.test(p))) return null;
  return parts.slice(0, -1).join('.');
}

/** Printable, bounded: every outside string shown goes through this. */
export function shown(value: unknown, max = 120): string {
  const text = String(value)
    .replace(/\p{Cc}/gu, '?')
    .slice(0, max + 1);
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

type Parsed = { ok: true; value: Record<string, unknown> } | { ok: false; verdict: Verdict };

/** The body as a JSON object, or why it is not the file. */
export function parseAssociationBody(answer: HttpAnswer): Parsed {
  if (answer.truncated || answer.body.length > associationMaxBytes)
    return {
      ok: false,
      verdict: {
        code: 'aasa_too_large',
        detail: `the file is larger than ${associationMaxBytes / 1024} KB${answer.headers['content-length'] ? ` (Content-Length ${shown(answer.headers['content-length'], 20)})` : ''}`,
      },
    };
  const text = answer.body.toString('utf8').replace(/^\uFEFF/, '');
  const type = (answer.headers['content-type'] ?? '').toLowerCase();
  if (type.includes('text/html') || /^\s*<(!doctype|html|head|body|\?xml|[a-z])/i.test(text))
    return {
      ok: false,
      verdict: {
        code: 'aasa_html',
        detail: `the answer is HTML (Content-Type ${shown(type || 'none', 60)}), not JSON`,
      },
    };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return {
      ok: false,
      verdict: { code: 'aasa_invalid_json', detail: `not JSON: ${shown((error as Error).message, 100)}` },
    };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return { ok: false, verdict: { code: 'aasa_invalid_json', detail: 'the JSON is not an object' } };
  // 128 KB of "[" nests 130,000 deep: what compares or prints the file recurses, so a depth
  // past any real file's is refused here (the host and the CDN are outside input).
  if (nestedDeeperThan(value, maxJsonDepth))
    return {
      ok: false,
      verdict: { code: 'aasa_invalid_json', detail: `the JSON is nested deeper than ${maxJsonDepth} levels` },
    };
  return { ok: true, value: value as Record<string, unknown> };
}

/** Deeper than any association file: Apple's format nests five levels. */
export const maxJsonDepth = 32;

/** Whether a parsed JSON value nests deeper than `max`, walked without recursion. */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth >= max) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) stack.push([child, depth + 1]);
  }
  return false;
}

/** The authsrv apps of a parsed file, or null when it has no authsrv.apps array. */
export function authsrvApps(file: Record<string, unknown>): string[] | null {
  const authsrv = file.authsrv;
  if (authsrv === null || typeof authsrv !== 'object' || Array.isArray(authsrv)) return null;
  const apps = (authsrv as Record<string, unknown>).apps;
  if (!Array.isArray(apps)) return null;
  return apps.slice(0, 1000).filter((a): a is string => typeof a === 'string');
}

/** The verdict on the host's answer for `team`.`container`. Never throws. */
export function judgeAssociation(answer: HttpAnswer, team: string, container: string): Verdict {
  if (answer.status >= 300 && answer.status < 400)
    return {
      code: 'aasa_redirect',
      detail: `status ${answer.status}, a redirect${answer.headers.location ? ` to ${shown(answer.headers.location)}` : ''}`,
    };
  if (answer.status !== 200) return { code: 'aasa_http_status', detail: `status ${answer.status}, not 200` };
  const parsed = parseAssociationBody(answer);
  if (!parsed.ok) return parsed.verdict;
  return judgeApps(parsed.value, team, container);
}

/** The verdict on a parsed file's authsrv.apps. */
export function judgeApps(file: Record<string, unknown>, team: string, container: string): Verdict {
  const apps = authsrvApps(file);
  const expected = `${team}.${container}`;
  if (apps === null)
    return {
      code: 'aasa_no_authsrv',
      detail: `no authsrv.apps in the file (it has ${
        Object.keys(file)
          .slice(0, 8)
          .map((k) => shown(k, 30))
          .join(', ') || 'no keys'
      })`,
    };
  const list =
    apps
      .slice(0, 5)
      .map((a) => shown(a, 60))
      .join(', ') || 'nothing';
  if (apps.includes(expected)) return { code: 'ok', detail: `authsrv.apps lists ${expected}` };
  if (apps.some((a) => a.endsWith(`.${container}`) && a.slice(0, -container.length - 1) !== team))
    return { code: 'aasa_wrong_team', detail: `authsrv.apps lists ${list}, not ${expected}` };
  if (apps.some((a) => a.startsWith(`${team}.`)))
    return { code: 'aasa_wrong_bundle', detail: `authsrv.apps lists ${list}, not ${expected}` };
  return { code: 'aasa_app_missing', detail: `authsrv.apps lists ${list}, not ${expected}` };
}

/** JSON with sorted keys: two files with the same content compare equal. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

/**
 * The verdict on the CDN's answer. `host`: the host's parsed file when it could be read (the
 * CDN must serve the same content), else null (the CDN's copy is judged on its own).
 */
export function judgeCdn(
  answer: HttpAnswer,
  host: { file: Record<string, unknown>; lastModified: string | null } | null,
  team: string,
  container: string,
): Verdict {
  if (answer.status === 404)
    return { code: 'cdn_missing', detail: "status 404: the CDN has no copy of the host's file" };
  if (answer.status !== 200) return { code: 'cdn_http_status', detail: `status ${answer.status}, not 200` };
  const parsed = parseAssociationBody(answer);
  if (!parsed.ok) return { code: 'cdn_invalid', detail: `${parsed.verdict.code}: ${parsed.verdict.detail}` };
  if (host) {
    if (canonicalJson(parsed.value) === canonicalJson(host.file))
      return { code: 'ok', detail: "the CDN serves the host's file" };
    const cdnApps = authsrvApps(parsed.value);
    const hostApps = authsrvApps(host.file);
    const apps = (a: string[] | null) =>
      a === null
        ? 'no authsrv'
        : a
            .slice(0, 4)
            .map((x) => shown(x, 60))
            .join(', ') || 'none';
    const changed = host.lastModified ? `; the host's file changed on ${shown(host.lastModified, 40)}` : '';
    return {
      code: 'cdn_stale',
      detail: `the CDN's copy differs from the host's file (CDN authsrv: ${apps(cdnApps)}; host: ${apps(hostApps)})${changed}`,
    };
  }
  const own = judgeApps(parsed.value, team, container);
  return own.code === 'ok'
    ? { code: 'ok', detail: `the CDN's copy ${own.detail.replace(/^authsrv/, 'lists in authsrv')}` }
    : { code: 'cdn_invalid', detail: `the CDN's copy: ${own.code}: ${own.detail}` };
}
