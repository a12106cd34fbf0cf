// What the collector says is not trusted with our secrets, our status or our log. Every text it
// supplies (an OTLP Status message, a TLS error naming its certificate) goes through
// collectorText() before it is stored, logged or shown:
//   - printable ASCII only (anything else becomes a space);
//   - every secret the daemon knows (the bearer token, the client key's PEM lines) is cut in
//     whatever form a collector may echo it: verbatim in any case, base64 or base64url (of the
//     token alone or inside a longer value such as "Bearer TOKEN" or "user:TOKEN": the three
//     byte alignments), hex, percent-encoded, or any 8 consecutive characters of one of those
//     (a collector that quotes half the token);
//   - at most COLLECTOR_TEXT_LIMIT characters, the last one "…".
import { redacted } from '../log/redact.js';

export const COLLECTOR_TEXT_LIMIT = 1024;
/** A run of this many characters of a secret's form is cut wherever it appears. */
const GRAM = 8;

/** The forms of the daemon's secrets, prepared once for many texts. */
export interface SecretForms {
  /** Every GRAM-character window of every form, lower case. */
  grams: Set<string>;
  /** Forms shorter than GRAM, cut only whole (lower case). */
  short: string[];
}

/** base64 of `bytes` placed at each of the three offsets a longer value may put them at: only the characters they alone decide. */
function base64Alignments(bytes: Buffer): string[] {
  const out: string[] = [];
  for (let k = 0; k < 3; k++) {
    const encoded = Buffer.concat([Buffer.alloc(k), bytes]).toString('base64');
    const total = k + bytes.length;
    // Leading characters that mix in the k unknown bytes before; trailing ones that mix in those after.
    const lead = k === 0 ? 0 : k === 1 ? 2 : 3;
    const rest = total % 3;
    const end = Math.floor(total / 3) * 4 + (rest === 1 ? 1 : rest === 2 ? 2 : 0);
    out.push(encoded.slice(lead, end));
  }
  return out;
}

export function secretForms(secrets: readonly string[]): SecretForms {
  const grams = new Set<string>();
  const short = new Set<string>();
  for (const secret of secrets) {
    if (!secret) continue;
    const bytes = Buffer.from(secret, 'utf8');
    const forms = [secret, bytes.toString('hex'), encodeURIComponent(secret)];
    for (const b of base64Alignments(bytes)) forms.push(b, b.replace(/\+/g, '-').replace(/\//g, '_'));
    for (const form of forms) {
      const lower = form.toLowerCase();
      if (lower.length < GRAM) {
        if (lower.length > 0 && form === secret) short.add(lower);
        continue;
      }
      for (let i = 0; i + GRAM <= lower.length; i++) grams.add(lower.slice(i, i + GRAM));
    }
  }
  return { grams, short: [...short] };
}

/** The secrets in a client key's PEM: its base64 lines (the header and footer are not secret). */
export function pemSecretLines(pem: string): string[] {
  return pem
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length >= 16 && /^[A-Za-z0-9+/=]+$/.test(line));
}

/** Cuts every secret form from printable ASCII text. */
function scrub(text: string, forms: SecretForms): string {
  const lower = text.toLowerCase();
  const cut = new Uint8Array(text.length);
  let any = false;
  if (forms.grams.size > 0) {
    for (let i = 0; i + GRAM <= lower.length; i++) {
      if (forms.grams.has(lower.slice(i, i + GRAM))) {
        cut.fill(1, i, i + GRAM);
        any = true;
      }
    }
  }
  for (const s of forms.short) {
    for (let at = lower.indexOf(s); at !== -1; at = lower.indexOf(s, at + 1)) {
      cut.fill(1, at, at + s.length);
      any = true;
    }
  }
  if (!any) return text;
  let out = '';
  for (let i = 0; i < text.length;) {
    if (cut[i]) {
      while (i < text.length && cut[i]) i++;
      out += redacted;
    } else {
      out += text[i];
      i++;
    }
  }
  return out;
}

/** At most `limit` characters, the last one "…" when cut. */
export function boundText(text: string, limit = COLLECTOR_TEXT_LIMIT): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}

/** A collector-supplied text made safe to store, log and show. */
export function collectorText(text: string, forms: SecretForms | null): string {
  // Printable ASCII first: the scrubber then compares like with like (one character per byte).
  const printable = text.replace(/[^\x20-\x7e]+/g, ' ').trim();
  return boundText(forms ? scrub(printable, forms) : printable);
}
