// What `agentctl status` shows of the Trust section: one row per target (verdict, diagnosis,
// expiry); `--json` keeps every field. Imported by the status command: no heavy imports.

interface TargetRow {
  target?: string;
  trusted?: boolean;
  diagnosis?: string;
  findings?: string[];
  leaf_expires_in_days?: number | null;
  hint?: string | null;
  /** The verdict is older than the daemon's last round (that round could not check it). */
  stale?: boolean;
  checked_at?: string | null;
}

/** Plain words for the human view; the codes stay in `status --json` (docs/codes.md). */
const plainWords: Record<string, string> = {
  ok: 'ok',
  clock_skew: 'valid only at the corrected time',
  expired: 'expired',
  not_yet_valid: 'not yet valid',
  untrusted_root: 'root CA not trusted',
  hostname_mismatch: 'issued to another name',
  revoked: 'revoked',
  revocation_unknown: 'revocation not checked',
  incomplete_chain: 'intermediate CA missing',
  malformed: 'certificates unusable',
  unreachable: 'unreachable',
};

export function targetLine(t: TargetRow): string {
  const verdict = t.trusted ? 'trusted' : 'NOT trusted';
  const codes = t.findings && t.findings.length ? t.findings : [t.diagnosis ?? '?'];
  const findings = codes.map((c) => plainWords[c] ?? c).join('; ');
  const days = t.leaf_expires_in_days;
  const expiry =
    typeof days !== 'number'
      ? ''
      : days < 0
        ? `, expired ${-days} day${days === -1 ? '' : 's'} ago`
        : `, expires in ${days} day${days === 1 ? '' : 's'}`;
  const stale = t.stale ? ` (stale: from ${t.checked_at ?? 'an earlier round'})` : '';
  return `${verdict}: ${findings}${expiry}${stale}`;
}

export function trustView(section: Record<string, unknown>): Record<string, unknown> {
  const targets = (section.targets as TargetRow[] | undefined) ?? [];
  // A list of one-field objects renders as one bare line each: the target is printed as it is
  // (a label would be re-cased), followed by its verdict.
  const rows = targets.map((t) => ({ line: `${t.target ?? '?'} — ${targetLine(t)}` }));
  const view: Record<string, unknown> = {
    targets: targets.length ? rows : 'None configured',
    revocation: section.revocation,
    last_check_at: section.last_check_ms ?? null,
  };
  if (section.last_check_reason) view.last_check_reason = section.last_check_reason;
  if (section.last_check_error) view.last_check_error = section.last_check_error;
  if (section.corrected_time_source) view.corrected_time = section.corrected_time_source;
  const hints = targets.filter((t) => t.hint).map((t) => t.hint!);
  view.hint = hints.length ? hints.join(' ') : 'None';
  return view;
}
