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
