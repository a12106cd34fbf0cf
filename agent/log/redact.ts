// Secrets never reach a log or a read-only answer (status, config show). Pure functions, shared
// by every log transport and by the daemon's answers:
//  - a field whose name says "secret" (token, password, client_secret, authorization, …) has its
//    value replaced, at any depth;
//  - every other string, in a message or a field, is cut where credentials travel in text:
//    "Bearer …"/"Basic …", key=value or "key": "value" for secret-named keys (access_token,
//    refresh_token, client_secret, id_token, api_key, password…), bare JWTs (eyJ….….…), and
//    URLs lose their userinfo (user:pass@) and their query string (?token=…).

const secretName =
  '[A-Za-z0-9_.-]*?(?:token|password|passwd|pwd|secret|api[-_]?key|private[-_]?key|session[-_]?id|credential|authorization|cookie|signature|sig)s?';
const secretKey = new RegExp(`^${secretName}$`, 'i');
const secretKeyLoose =
  /(token|password|passwd|secret|authorization|cookie|credential|api[-_]?key|private[-_]?key|session[-_]?id)/i;
export const redacted = '<redacted>';

/** True when a field of this name holds a secret. */
export function isSecretKey(key: string): boolean {
  return secretKey.test(key) || secretKeyLoose.test(key);
}

/** A copy of `value` with every secret-named key's value replaced and every string cleaned (objects and arrays, any depth). */
export function redactFields(value: unknown, depth = 0, seen: WeakSet<object> = new WeakSet()): unknown {
  if (typeof value === 'string') return redactMessage(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value) || depth > 16) return '<nested>';
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => redactFields(v, depth + 1, seen));
  if (value instanceof Error) return { name: value.name, message: redactMessage(value.message) };
  if (value instanceof Date) return value;
  if (ArrayBuffer.isView(value)) return `<${value.byteLength} bytes>`;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] =
      isSecretKey(key) && v !== '' && v !== null && v !== undefined && v !== false
        ? redacted
        : redactFields(v, depth + 1, seen);
  }
  return out;
}

// key=value, key: value, "key": "value", key='value'. The value ends at a quote, space, & , ; or ).
const keyValue = new RegExp(`(\\b|["'])(${secretName})(["']?\\s*[=:]\\s*["']?)(?!${redacted})[^\\s"'&,;)}\\]]+`, 'gi');
const authScheme = /\b(Bearer|Basic|Digest|Token)(\s+)(?!<redacted>)[A-Za-z0-9._~+/=-]+/gi;
const jwt = /\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g;

/** https://user:pass@host/p?token=x#f → https://host/p?… (userinfo and query are where credentials travel). */
export function stripUrlSecrets(text: string): string {
  return text.replace(
    /\b([a-z][a-z0-9+.-]*:\/\/)([^/\s?#@]*@)?([^\s?#]*)(\?[^\s#]*)?(#\S*)?/gi,
    (_m, scheme: string, _user: string | undefined, rest: string, query: string | undefined) =>
      `${scheme}${rest}${query ? '?…' : ''}`,
  );
}

// Every pattern below needs one of these in the text: "://" for a URL, "eyJ" for a JWT, the
// scheme's name, or a secret name. Most strings (states, codes, times, paths) have none and
// are returned as they are, with one scan instead of four (agentd redacts every status answer).
const mayHoldSecret =
  /:\/\/|eyJ|bearer|basic|digest|token|passw|pwd|secret|api[-_]?key|private[-_]?key|session[-_]?id|credential|authorization|cookie|sig/i;

/** Cuts credentials that slipped into free text. */
export function redactMessage(message: string): string {
  return mayHoldSecret.test(message) ? redactEveryPattern(message) : message;
}

/** redactMessage without its first check (the tests compare the two). */
export function redactEveryPattern(message: string): string {
  return stripUrlSecrets(message)
    .replace(jwt, redacted)
    .replace(authScheme, `$1$2${redacted}`)
    .replace(keyValue, `$1$2$3${redacted}`);
}
