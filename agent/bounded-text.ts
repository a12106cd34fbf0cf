// Every string that comes from outside (a certificate, a TLS or OCSP peer, a collector) is cut
// to a fixed size before it is stored, logged or shown, so that no peer decides how large an
// answer, a log line or a report grows.

/** The longest outside string kept, in UTF-16 code units (the cut one ends with "…"). */
export const maxOutsideText = 1024;

/** `text` if it is at most `max` long, else its first `max - 1` units and "…" (no half surrogate pair). */
export function boundText(text: string, max: number = maxOutsideText): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max - 1);
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

/**
 * `text` safe to print on a terminal: every control character (C0, DEL and C1, where ESC and
 * CSI start the sequences that retitle, recolour or clear a terminal) and every bidirectional
 * override or isolate (which reorder what is shown) becomes "?".
 */
export function printable(text: string): string {
  return text.replace(/[\p{Cc}\u202a-\u202e\u2066-\u2069]/gu, '?');
}
