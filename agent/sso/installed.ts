// The installed SSO payloads, as agentd answers them on the read-only control socket
// (`sso.installed`, installed-service.ts): agentd runs `profiles show -output stdout-xml` as root,
// the parser process reads it (installed-task.ts) and reduces every com.apple.extensiblesso
// payload to the keys the doctor's checks read, through an allow-list. The socket is open to
// every local user and a payload's ExtensionData may hold secrets (client secrets, passwords
// some vendors ask for): nothing that is not on the list leaves the parser process. Every string
// is bounded (agent/bounded-text.ts), every list is bounded, at most maxInstalledPayloads
// payloads are answered and the rest counted.
//
// This file is pure and light: agentd (the service), the parser process (the task) and agentctl
// (which checks the answer again: it crossed a process boundary) all import it.
import { boundText } from '../bounded-text.js';
import type { SsoDoctorCode } from './codes.js';

export const maxInstalledPayloads = 32;
/** Entries of URLs, Hosts, AssociatedDomains; the doctor checks at most 16 hosts. */
export const maxListEntries = 64;
export const maxUrlChars = 2048;
export const maxNameChars = 256;
export const maxMappingEntries = 16;
/** Applications of com.apple.associated-domains payloads whose authsrv hosts are kept. */
export const maxAssociatedApps = 64;

const ssoType = 'com.apple.extensiblesso';
const associatedType = 'com.apple.associated-domains';
/** PlatformSSO keys whose presence means the `groups` claim is in use (claims.ts); only their presence is kept. */
export const groupClaimKeys = ['AdministratorGroups', 'AdditionalGroups', 'AuthorizationGroups'] as const;

/** The answer's code: ok, or why there are no payloads (docs/codes.md, "SSO doctor"). */
export type InstalledCode = Extract<
  SsoDoctorCode,
  'ok' | 'installed_not_macos' | 'installed_command_failed' | 'installed_unparsable'
>;

/** One payload, reduced: the settings the checks read, nothing else. */
export interface InstalledPayload {
  /** The profile it came from (ProfileIdentifier) and its own PayloadIdentifier. */
  profile_identifier: string | null;
  payload_identifier: string | null;
  /** The allow-listed settings: ExtensionIdentifier, TeamIdentifier, Type, URLs, Hosts, Realm, PlatformSSO. */
  settings: Record<string, unknown>;
}

export interface InstalledPayloads {
  payloads: InstalledPayload[];
  /** SSO payloads beyond maxInstalledPayloads, not answered. */
  left_out: number;
  /** The authsrv: hosts of the com.apple.associated-domains payloads, by ApplicationIdentifier. */
  associated: Array<{ application: string; hosts: string[] }>;
}

export type InstalledAnswer =
  | ({ code: 'ok'; read_at: string; as_root: boolean } & InstalledPayloads)
  | { code: Exclude<InstalledCode, 'ok'>; message: string; read_at: string };

type Dict = Record<string, unknown>;
const isDict = (v: unknown): v is Dict =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) && !ArrayBuffer.isView(v);

const text = (v: unknown, max: number): string | null => (typeof v === 'string' ? boundText(v, max) : null);

function stringList(v: unknown, max: number): string[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: string[] = [];
  for (const item of v.slice(0, maxListEntries)) {
    // A non-string entry stays visible to the static checks as a string that is not a URL.
    out.push(boundText(typeof item === 'string' ? item : `(${typeof item})`, max));
  }
  return out;
}

/** The allow-listed settings of one com.apple.extensiblesso payload. */
export function reduceSsoSettings(settings: Dict): Dict {
  const out: Dict = {};
  for (const key of ['ExtensionIdentifier', 'TeamIdentifier', 'Type', 'Realm'] as const) {
    if (!Object.hasOwn(settings, key)) continue;
    // A value of another type stays a value the static checks reject, never the value itself.
    out[key] =
      text(settings[key], maxNameChars) ?? `(${Array.isArray(settings[key]) ? 'array' : typeof settings[key]})`;
  }
  const urls = stringList(settings.URLs, maxUrlChars);
  if (urls) out.URLs = urls;
  const hosts = stringList(settings.Hosts, maxNameChars);
  if (hosts) out.Hosts = hosts;
  if (isDict(settings.PlatformSSO)) {
    const psso: Dict = {};
    const mapping = settings.PlatformSSO.TokenToUserMapping;
    if (isDict(mapping)) {
      const kept: Dict = {};
      for (const [k, v] of Object.entries(mapping).slice(0, maxMappingEntries))
        if (typeof v === 'string') kept[boundText(k, 64)] = boundText(v, maxNameChars);
      psso.TokenToUserMapping = kept;
    }
    // Group names are not needed: that the key is there is what the claim audit reads.
    for (const key of groupClaimKeys) if (Object.hasOwn(settings.PlatformSSO, key)) psso[key] = true;
    out.PlatformSSO = psso;
  }
  return out;
}

/** The authsrv: hosts of one com.apple.associated-domains payload (agent/profiles/sso-checks.ts authsrvHosts, bounded). */
function reduceAssociated(settings: Dict): Array<{ application: string; hosts: string[] }> {
  const out: Array<{ application: string; hosts: string[] }> = [];
  const configuration = Array.isArray(settings.Configuration) ? settings.Configuration : [];
  for (const entry of configuration.slice(0, maxAssociatedApps)) {
    if (!isDict(entry) || typeof entry.ApplicationIdentifier !== 'string' || !Array.isArray(entry.AssociatedDomains))
      continue;
    const hosts: string[] = [];
    for (const d of entry.AssociatedDomains.slice(0, 1000))
      if (typeof d === 'string' && d.startsWith('authsrv:') && hosts.length < maxListEntries)
        hosts.push(boundText(d.slice('authsrv:'.length).split('?')[0]!.toLowerCase(), maxNameChars));
    out.push({ application: boundText(entry.ApplicationIdentifier, maxNameChars), hosts });
  }
  return out;
}

/** A payload of the reader (agent/profiles/reader.ts payloadsOf), the fields used here. */
export interface PayloadLike {
  role: 'top' | 'payload';
  type: string | null;
  identifier: string | null;
  profileIdentifier: string | null;
  settings: Dict;
}

/** Reduces the payloads of the installed profiles: the SSO ones (at most maxInstalledPayloads) and the authsrv hosts. */
export function reduceInstalled(payloads: Iterable<PayloadLike>): InstalledPayloads {
  const out: InstalledPayloads = { payloads: [], left_out: 0, associated: [] };
  for (const p of payloads) {
    if (p.role !== 'payload') continue;
    if (p.type === ssoType) {
      if (out.payloads.length >= maxInstalledPayloads) out.left_out++;
      else
        out.payloads.push({
          profile_identifier: text(p.profileIdentifier, maxNameChars),
          payload_identifier: text(p.identifier, maxNameChars),
          settings: reduceSsoSettings(p.settings),
        });
    } else if (p.type === associatedType && out.associated.length < maxAssociatedApps)
      out.associated.push(...reduceAssociated(p.settings).slice(0, maxAssociatedApps - out.associated.length));
  }
  return out;
}

/**
 * The answer as it crossed a process boundary (parser → agentd, agentd → agentctl), checked and
 * reduced again: whatever came is put through the same allow-list and bounds; null when its
 * shape is wrong.
 */
export function checkInstalled(value: unknown): InstalledPayloads | null {
  if (!isDict(value) || !Array.isArray(value.payloads) || !Array.isArray(value.associated)) return null;
  const payloads: InstalledPayload[] = [];
  for (const p of value.payloads.slice(0, maxInstalledPayloads)) {
    if (!isDict(p) || !isDict(p.settings)) return null;
    payloads.push({
      profile_identifier: text(p.profile_identifier, maxNameChars),
      payload_identifier: text(p.payload_identifier, maxNameChars),
      settings: reduceSsoSettings(p.settings),
    });
  }
  const associated: InstalledPayloads['associated'] = [];
  for (const a of value.associated.slice(0, maxAssociatedApps)) {
    if (!isDict(a) || typeof a.application !== 'string' || !Array.isArray(a.hosts)) return null;
    associated.push({
      application: boundText(a.application, maxNameChars),
      hosts: a.hosts
        .slice(0, maxListEntries)
        .filter((h): h is string => typeof h === 'string')
        .map((h) => boundText(h, maxNameChars)),
    });
  }
  const extra = Math.max(0, value.payloads.length - maxInstalledPayloads);
  const leftOut =
    typeof value.left_out === 'number' && Number.isSafeInteger(value.left_out) && value.left_out >= 0
      ? value.left_out
      : 0;
  return { payloads, left_out: leftOut + extra, associated };
}

const codes = new Set<InstalledCode>(['installed_not_macos', 'installed_command_failed', 'installed_unparsable']);

/** agentctl's check of the daemon's answer to `sso.installed`; null when its shape is wrong. */
export function checkInstalledAnswer(value: unknown): InstalledAnswer | null {
  if (!isDict(value) || typeof value.code !== 'string') return null;
  const readAt = typeof value.read_at === 'string' ? boundText(value.read_at, 40) : '';
  if (value.code === 'ok') {
    const checked = checkInstalled(value);
    return checked && { code: 'ok', read_at: readAt, as_root: value.as_root === true, ...checked };
  }
  if (!codes.has(value.code as InstalledCode) || typeof value.message !== 'string') return null;
  return {
    code: value.code as Exclude<InstalledCode, 'ok'>,
    message: boundText(value.message.replace(/\p{Cc}/gu, ' '), 600),
    read_at: readAt,
  };
}
