// Platform SSO claim drift (SPEC §1.3, the seed's "identity drift audit", honestly): the claim
// names the payload maps (PlatformSSO.TokenToUserMapping; "groups" when group keys are in use)
// against the IdP's OpenID discovery document. OpenID Connect Discovery 1.0 §3 makes
// claims_supported RECOMMENDED, not required: its absence is a note, not a drift. Pure.
import { shown, type HttpAnswer, type Verdict } from './association.js';

type Dict = Record<string, unknown>;

const groupKeys = ['AdministratorGroups', 'AdditionalGroups', 'AuthorizationGroups'];

/** The claims a payload's PlatformSSO relies on, or null when it has no PlatformSSO. */
export function claimsInUse(settings: Dict): string[] | null {
  const psso = settings.PlatformSSO;
  if (psso === null || typeof psso !== 'object' || Array.isArray(psso)) return null;
  const claims = new Set<string>();
  const mapping = (psso as Dict).TokenToUserMapping;
  if (mapping && typeof mapping === 'object' && !Array.isArray(mapping))
    for (const v of Object.values(mapping as Dict).slice(0, 64)) if (typeof v === 'string' && v !== '') claims.add(v);
  if (groupKeys.some((k) => Object.hasOwn(psso, k))) claims.add('groups');
  return [...claims];
}

/** The issuer the discovery document is under: --issuer, else the first https URL of the payload without its trailing slash. */
export function issuerFor(settings: Dict, given: string | null): string | null {
  if (given) return given.replace(/\/+$/, '');
  const urls = Array.isArray(settings.URLs) ? settings.URLs : [];
  for (const raw of urls.slice(0, 100)) {
    try {
      const url = new URL(String(raw));
      if (url.protocol === 'https:') return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
    } catch {
      /* the static checks report it */
    }
  }
  return null;
}

export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

/** The verdict on the discovery document for `claims`. Never throws. */
export function judgeDiscovery(answer: HttpAnswer, claims: readonly string[]): Verdict {
  if (answer.status !== 200) return { code: 'discovery_invalid', detail: `status ${answer.status}, not 200` };
  if (answer.truncated) return { code: 'discovery_invalid', detail: 'the document is too large' };
  let doc: unknown;
  try {
    doc = JSON.parse(answer.body.toString('utf8').replace(/^\uFEFF/, ''));
  } catch {
    return { code: 'discovery_invalid', detail: 'the document is not JSON' };
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    return { code: 'discovery_invalid', detail: 'the document is not a JSON object' };
  const d = doc as Dict;
  if (typeof d.issuer !== 'string') return { code: 'discovery_invalid', detail: 'the document has no issuer' };
  if (!Object.hasOwn(d, 'claims_supported'))
    return {
      code: 'claims_unlisted',
      detail: `the IdP does not publish claims_supported (optional in OpenID Discovery): ${claims.map((c) => shown(c, 40)).join(', ')} not checked`,
    };
  if (!Array.isArray(d.claims_supported) || d.claims_supported.some((c) => typeof c !== 'string'))
    return { code: 'discovery_invalid', detail: 'claims_supported is not an array of strings' };
  const supported = new Set(d.claims_supported.slice(0, 10_000) as string[]);
  const missing = claims.filter((c) => !supported.has(c));
  if (missing.length)
    return {
      code: 'claims_unsupported',
      detail: `claims_supported lacks ${missing.map((c) => shown(c, 40)).join(', ')} (mapped in PlatformSSO)`,
    };
  return { code: 'ok', detail: `claims_supported lists ${claims.map((c) => shown(c, 40)).join(', ')}` };
}
