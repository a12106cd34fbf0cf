// The static checks of an Extensible SSO payload (com.apple.extensiblesso), shared by
// `agentctl doctor profile` and the SSO doctor: required keys by Type (Apple's
// com.apple.extensiblesso.yaml: URLs for Redirect; Hosts and Realm for Credential, which the
// Kerberos extension is), https URLs without query or fragment, a 10-character TeamIdentifier
// (Apple's own Kerberos extension says "apple"), and every IdP host covered by an `authsrv:`
// entry of a com.apple.associated-domains payload. Pure: no I/O, codes and key paths only.
import type { FindingCode } from './codes.js';

type Dict = Record<string, unknown>;

export type SsoCode = Extract<
  FindingCode,
  | 'sso_key_missing'
  | 'sso_url_not_https'
  | 'sso_url_has_query'
  | 'sso_url_invalid'
  | 'sso_team_identifier_invalid'
  | 'sso_host_not_associated'
>;

export interface SsoIssue {
  code: SsoCode;
  /** The key within the payload ('URLs', ['URLs', 0]). */
  key: string;
  index: number | null;
  message: string;
}

export const ssoPayloadType = 'com.apple.extensiblesso';
export const associatedDomainsPayloadType = 'com.apple.associated-domains';
export const kerberosExtension = 'com.apple.AppSSOKerberos.KerberosExtension';

/** The `authsrv:` hosts of a com.apple.associated-domains payload, by ApplicationIdentifier (TEAMID.bundle). */
export function authsrvHosts(payload: Dict): Array<{ application: string; hosts: string[] }> {
  const out: Array<{ application: string; hosts: string[] }> = [];
  const configuration = Array.isArray(payload.Configuration) ? payload.Configuration : [];
  for (const entry of configuration.slice(0, 1000)) {
    if (entry === null || typeof entry !== 'object') continue;
    const domains = (entry as Dict).AssociatedDomains;
    const application = (entry as Dict).ApplicationIdentifier;
    if (!Array.isArray(domains) || typeof application !== 'string') continue;
    const hosts: string[] = [];
    for (const d of domains.slice(0, 1000))
      if (typeof d === 'string' && d.startsWith('authsrv:'))
        hosts.push(d.slice('authsrv:'.length).split('?')[0]!.toLowerCase());
    out.push({ application, hosts });
  }
  return out;
}

/**
 * The authsrv hosts that serve an SSO payload: those of the associated-domains entries whose
 * ApplicationIdentifier is of the payload's team (TEAMID.…), or null when none was given (the
 * app may carry the entitlement itself, as Microsoft's does: the coverage check does not run).
 */
export function associatedHostsFor(
  payload: Dict,
  entries: ReadonlyArray<{ application: string; hosts: string[] }>,
): Set<string> | null {
  const team = payload.TeamIdentifier;
  if (typeof team !== 'string') return null;
  const mine = entries.filter((e) => e.application.startsWith(`${team}.`));
  return mine.length === 0 ? null : new Set(mine.flatMap((e) => e.hosts));
}

/**
 * Checks one SSO payload. `associated`: the authsrv hosts of the associated-domains payloads
 * given together with it, or null when none was given (the coverage check then does not run:
 * the app may carry the entitlement itself).
 */
export function checkSsoPayload(payload: Dict, associated: ReadonlySet<string> | null): SsoIssue[] {
  const issues: SsoIssue[] = [];
  const type = payload.Type;
  const kerberos = payload.ExtensionIdentifier === kerberosExtension;
  const missing = (key: string, why: string) => {
    if (!Object.hasOwn(payload, key))
      issues.push({ code: 'sso_key_missing', key, index: null, message: `${key} is missing (${why})` });
  };
  missing('ExtensionIdentifier', 'every SSO extension payload names its extension');
  missing('Type', 'Redirect or Credential');
  if (type === 'Redirect') missing('URLs', 'a Redirect extension needs the IdP URLs');
  if (type === 'Credential' || kerberos) {
    missing('Hosts', 'a Credential extension needs the hosts it serves');
    missing('Realm', 'a Credential extension needs its realm');
  }
  if (!kerberos) missing('TeamIdentifier', "the extension's Apple team ID");
  const team = payload.TeamIdentifier;
  if (
    team !== undefined &&
    !(kerberos && team === 'apple') &&
    !(typeof team === 'string' && /^[A-Z0-9]{10}$/.test(team))
  )
    issues.push({
      code: 'sso_team_identifier_invalid',
      key: 'TeamIdentifier',
      index: null,
      message: `TeamIdentifier ${JSON.stringify(String(team).slice(0, 40))} is not a 10-character team ID`,
    });
  const urls = Array.isArray(payload.URLs) ? payload.URLs : [];
  urls.slice(0, 1000).forEach((raw, index) => {
    const shown = JSON.stringify(String(raw).slice(0, 100));
    let url: URL;
    try {
      url = new URL(String(raw));
    } catch {
      issues.push({ code: 'sso_url_invalid', key: 'URLs', index, message: `${shown} is not a URL` });
      return;
    }
    if (url.protocol !== 'https:')
      issues.push({ code: 'sso_url_not_https', key: 'URLs', index, message: `${shown} is not https` });
    if (url.search !== '' || url.hash !== '' || String(raw).includes('?') || String(raw).includes('#'))
      issues.push({ code: 'sso_url_has_query', key: 'URLs', index, message: `${shown} has a query or fragment` });
    if (associated && url.protocol === 'https:' && !associated.has(url.hostname.toLowerCase()))
      issues.push({
        code: 'sso_host_not_associated',
        key: 'URLs',
        index,
        message: `${url.hostname} is not covered by an authsrv: entry of the associated-domains payloads`,
      });
  });
  return issues;
}
