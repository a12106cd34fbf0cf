// Secrets never reach a log: fields whose name says "secret" are replaced, and bearer tokens
// or passwords written into a message are cut out. Pure functions, shared by every transport.

const secretKey = /(token|password|passwd|secret|authorization|cookie|credential|api[-_]?key|private[-_]?key|session[-_]?id)/i;
export const redacted = '<redacted>';

/** A copy of `value` with every secret-named key's value replaced (objects and arrays, any depth). */
export function redactFields(value: unknown, depth = 0, seen: WeakSet<object> = new WeakSet()): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value) || depth > 8) return '<nested>';
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => redactFields(v, depth + 1, seen));
  if (value instanceof Error) return { name: value.name, message: redactMessage(value.message) };
  if (value instanceof Date) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = secretKey.test(key) && v !== '' && v !== null && v !== undefined ? redacted : redactFields(v, depth + 1, seen);
  }
  return out;
}

/** Cuts credentials that slipped into free text: "Bearer xyz", "password=xyz", "https://user:pw@host". */
export function redactMessage(message: string): string {
  return message
    .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, `$1 ${redacted}`)
    .replace(/\b(token|password|passwd|secret|api[-_]?key)(["']?\s*[=:]\s*["']?)[^\s"'&,;]+/gi, `$1$2${redacted}`)
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s:@]+:[^/\s@]+@/gi, `$1${redacted}@`);
}
