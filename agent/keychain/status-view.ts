// What `agentctl status` shows of the Keychain section: the configuration in one row each, and
// one row per user with the last scrub it reported (`--json` keeps every field). Imported by
// the status command: no heavy imports.

interface UserRow {
  uid?: number;
  received_at?: string;
  trigger?: string;
  mode?: string;
  current_tenant?: boolean | null;
  skipped?: string | null;
  scanned?: number;
  deleted?: number;
  would_delete?: number;
  kept?: number;
  errors?: string[];
  claimed_uid?: number | null;
}

function userRows(u: UserRow): Record<string, unknown> {
  const acted = u.mode === 'enforce' ? `deleted ${u.deleted ?? 0}` : `would delete ${u.would_delete ?? 0} (dry-run)`;
  const rows: Record<string, unknown> = {
    reported_at: u.received_at ?? null,
    result: u.skipped ? `not configured (${u.skipped})` : `scanned ${u.scanned ?? 0}, ${acted}, kept ${u.kept ?? 0}`,
  };
  if (u.current_tenant === false) rows.tenant = 'another tenant than the configured one';
  if (u.errors?.length) rows.errors = u.errors;
  if (typeof u.claimed_uid === 'number') rows.claimed_uid = u.claimed_uid;
  return rows;
}

export function keychainView(section: Record<string, unknown>): Record<string, unknown> {
  const users = (section.users as UserRow[] | undefined) ?? [];
  const services = (section.services as string[] | undefined) ?? [];
  const perUser: Record<string, Record<string, unknown>> = {};
  for (const u of users) perUser[`uid ${u.uid ?? '?'}`] = userRows(u);
  const request = section.last_session_request as
    { outcome?: string; uid?: number | null; at?: string } | null | undefined;
  const dropped = section.audit_dropped_for_uid as
    { total?: number; by_uid?: Array<{ uid: number; dropped: number }> } | undefined;
  return {
    ...(dropped?.total
      ? {
          audit_dropped: `${dropped.total} audit records over a user's hourly budget (${(dropped.by_uid ?? [])
            .slice(0, 5)
            .map((d) => `uid ${d.uid}: ${d.dropped}`)
            .join(', ')})`,
        }
      : {}),
    tenant: section.tenant_domain ?? 'None configured',
    mode: section.mode,
    services: services.length ? services.join(', ') : 'None configured (scrub disabled)',
    last_scrub_per_user: Object.keys(perUser).length ? perUser : 'No session has reported',
    last_session_request: request
      ? `${request.outcome ?? '?'}${request.uid ? ` (uid ${request.uid})` : ''} at ${request.at ?? '?'}`
      : 'None',
  };
}
