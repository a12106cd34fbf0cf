// `agentctl doctor sso`: Apple's, Microsoft's and Okta's SSO extension checklists, run by
// themselves (SPEC §1.3), for every com.apple.extensiblesso payload of the profiles given.
// Each step has a deadline and its duration is kept; each result is a code (codes.ts, or the
// profile doctor's sso_* codes for the shared static checks) with a detail and a fix.
import { findingCodes } from '../profiles/codes.js';
import { payloadsOf, readProfileFile, type Dict, type Payload } from '../profiles/reader.js';
import {
  associatedHostsFor,
  authsrvHosts,
  associatedDomainsPayloadType,
  checkSsoPayload,
  kerberosExtension,
  ssoPayloadType,
} from '../profiles/sso-checks.js';
import {
  associationMaxBytes,
  containerBundleId,
  judgeAssociation,
  judgeCdn,
  parseAssociationBody,
  shown,
  type Verdict,
} from './association.js';
import { claimsInUse, discoveryUrl, issuerFor, judgeDiscovery } from './claims.js';
import { ssoCodes, type Severity, type SsoCheckName, type SsoDoctorCode } from './codes.js';
import { httpsGet, type GetResult } from './https-get.js';
import type { InstalledPayloads } from './installed.js';
import {
  authsrvEntries,
  containerAppOf,
  parseAppSsoPlatform,
  parseEntitlements,
  parsePluginkit,
  parseSwcutilShow,
  runCommand,
  type CommandRun,
  type Parsed,
} from './macos.js';
import { judgeChain, type ChainVerdict, type TrustSetup } from './tls.js';

// For `agentctl doctor`'s row (doctor-row.ts), which loads this module only when there are
// payloads to check: one import brings all it needs.
export { trustSetup } from './tls.js';

export const defaultCdnBase = 'https://app-site-association.cdn-apple.com/a/v1';

export interface CheckResult {
  check: SsoCheckName;
  /** The host, command or file the check is about. */
  target: string | null;
  status: 'pass' | 'fail' | 'skip';
  ok: boolean;
  severity: Severity;
  code: string;
  detail: string;
  hint: string | null;
  duration_ms: number;
}

export interface PayloadReport {
  file: string;
  payload_identifier: string | null;
  extension_identifier: string | null;
  team_identifier: string | null;
  type: string | null;
  hosts: string[];
  checks: CheckResult[];
}

export interface SsoReport {
  /** Without --profile: the installed profiles, as agentd read them (when, and SSO payloads left out). */
  installed?: { read_at: string; left_out: number; as_root: boolean };
  payloads: PayloadReport[];
  summary: { payloads: number; errors: number; warnings: number; notes: number; duration_ms: number };
}

export interface MacCommands {
  pluginkit: string;
  swcutil: string;
  codesign: string;
  appSso: string;
}

export const macCommands: MacCommands = {
  pluginkit: '/usr/bin/pluginkit',
  swcutil: '/usr/bin/swcutil',
  codesign: '/usr/bin/codesign',
  appSso: '/usr/bin/app-sso',
};

export interface SsoDoctorOptions {
  trust: TrustSetup;
  cdnBase: string;
  issuer: string | null;
  timeoutMs: number;
  platform?: NodeJS.Platform;
  commands?: MacCommands;
  /** false: the network checks (association, CDN, TLS, claims) are skipped (tests of the static part). */
  network?: boolean;
  /**
   * Ask a profile's hosts (its URLs, the issuer derived from them) on loopback, link-local or
   * unspecified addresses too (--allow-local-urls; tests). The CDN base and --issuer are the
   * administrator's own, and always asked.
   */
  allowLocal?: boolean;
  /** Aborted: every request and command still running stops (agentctl doctor's deadline). */
  signal?: AbortSignal;
  /** Called after each payload (agentctl doctor's progress line). */
  onPayload?(done: number, total: number): void;
}

const maxHosts = 16;

function result(
  check: SsoCheckName,
  target: string | null,
  code: string,
  detail: string,
  ms: number,
  options: { hint?: string | null; status?: CheckResult['status']; severity?: Severity } = {},
): CheckResult {
  const info =
    (ssoCodes as Record<string, { severity: Severity; fix: string }>)[code] ??
    (findingCodes as Record<string, { severity: Severity; fix: string }>)[code];
  const severity = options.severity ?? info?.severity ?? 'error';
  const status =
    options.status ??
    (code === 'ok'
      ? 'pass'
      : code === 'skipped' || code === 'not_macos'
        ? 'skip'
        : severity === 'note'
          ? 'pass'
          : 'fail');
  return {
    check,
    target: target === null ? null : shown(target, 200),
    status,
    ok: status !== 'fail',
    severity: status === 'pass' || status === 'skip' ? 'note' : severity,
    code,
    detail: shown(detail, 600),
    hint: status === 'fail' ? (options.hint ?? (info?.fix || null)) : null,
    duration_ms: Math.max(0, Math.round(ms)),
  };
}

async function timed<T>(f: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await f();
  return { value, ms: performance.now() - started };
}

const str = (v: unknown) => (typeof v === 'string' ? v : null);

/** The hosts a payload sends to its extension: URLs (Redirect) with their port, as URL objects. */
function payloadUrls(settings: Dict): URL[] {
  const out: URL[] = [];
  const seen = new Set<string>();
  for (const raw of (Array.isArray(settings.URLs) ? settings.URLs : []).slice(0, 1000)) {
    try {
      const url = new URL(String(raw));
      const key = `${url.protocol}//${url.host}`;
      if (seen.has(key) || (url.protocol !== 'https:' && url.protocol !== 'http:')) continue;
      seen.add(key);
      out.push(url);
    } catch {
      /* the static checks report it */
    }
    if (out.length === maxHosts) break;
  }
  return out;
}

/** Runs every check on the files. Never throws for a bad file or an unreachable host. */
export async function runSsoDoctor(files: string[], options: SsoDoctorOptions): Promise<SsoReport> {
  const started = performance.now();
  const reports: PayloadReport[] = [];
  const found: Array<{ file: string; payload: Pick<Payload, 'identifier' | 'settings'> }> = [];
  const associated: Array<{ application: string; hosts: string[] }> = [];
  for (const file of files) {
    const t0 = performance.now();
    const read = readProfileFile(file);
    if (!read.ok) {
      reports.push({
        file,
        payload_identifier: null,
        extension_identifier: null,
        team_identifier: null,
        type: null,
        hosts: [],
        checks: [result('static', file, read.code, read.message, performance.now() - t0)],
      });
      continue;
    }
    for (const payload of payloadsOf(read.document)) {
      if (payload.role !== 'payload') continue;
      if (payload.type === ssoPayloadType) found.push({ file, payload });
      if (payload.type === associatedDomainsPayloadType) associated.push(...authsrvHosts(payload.settings));
    }
  }
  return checkAll(reports, found, associated, options, started);
}

/**
 * Runs every check on the installed payloads agentd answered (`sso.installed`, reduced to the
 * keys the checks read: installed.ts). Each payload's "file" names its profile.
 */
export async function runSsoDoctorInstalled(
  installed: InstalledPayloads,
  options: SsoDoctorOptions,
): Promise<SsoReport> {
  const found = installed.payloads.map((p) => ({
    file: `installed profile ${p.profile_identifier ?? '(no identifier)'}`,
    payload: { identifier: p.payload_identifier, settings: p.settings },
  }));
  return checkAll([], found, installed.associated, options, performance.now());
}

async function checkAll(
  reports: PayloadReport[],
  found: Array<{ file: string; payload: Pick<Payload, 'identifier' | 'settings'> }>,
  associated: ReadonlyArray<{ application: string; hosts: string[] }>,
  options: SsoDoctorOptions,
  started: number,
): Promise<SsoReport> {
  for (const { file, payload } of found) {
    reports.push(await checkPayload(file, payload, associated, options));
    options.onPayload?.(reports.length, found.length);
  }
  const all = reports.flatMap((r) => r.checks).filter((c) => c.status === 'fail' || c.status === 'pass');
  return {
    payloads: reports,
    summary: {
      payloads: found.length,
      errors: all.filter((c) => c.status === 'fail' && c.severity === 'error').length,
      warnings: all.filter((c) => c.status === 'fail' && c.severity === 'warning').length,
      notes: reports.flatMap((r) => r.checks).filter((c) => c.severity === 'note' && c.code !== 'ok').length,
      duration_ms: Math.round(performance.now() - started),
    },
  };
}

async function checkPayload(
  file: string,
  payload: Pick<Payload, 'identifier' | 'settings'>,
  associated: ReadonlyArray<{ application: string; hosts: string[] }>,
  options: SsoDoctorOptions,
): Promise<PayloadReport> {
  const settings = payload.settings;
  const extension = str(settings.ExtensionIdentifier);
  const team = str(settings.TeamIdentifier);
  const urls = payloadUrls(settings);
  const report: PayloadReport = {
    file,
    payload_identifier: payload.identifier ? shown(payload.identifier, 200) : null,
    extension_identifier: extension ? shown(extension, 200) : null,
    team_identifier: team ? shown(team, 40) : null,
    type: str(settings.Type) ? shown(settings.Type, 40) : null,
    hosts: urls.map((u) => u.host),
    checks: [],
  };
  const add = (r: CheckResult) => report.checks.push(r);

  // 1. Static checks, shared with doctor profile.
  const t0 = performance.now();
  const issues = checkSsoPayload(settings, associatedHostsFor(settings, associated));
  if (issues.length === 0)
    add(result('static', null, 'ok', 'the payload has the keys its Type needs', performance.now() - t0));
  for (const issue of issues)
    add(
      result(
        'static',
        issue.index === null ? issue.key : `${issue.key}[${issue.index}]`,
        issue.code,
        issue.message,
        performance.now() - t0,
      ),
    );

  // 2-4. The association file, Apple's CDN copy and the IdP's chain, per host.
  const kerberos = extension === kerberosExtension;
  const redirect = settings.Type === 'Redirect';
  const container = extension ? containerBundleId(extension) : null;
  if (kerberos || !redirect) {
    const why = kerberos
      ? "Apple's Kerberos extension: no association file"
      : 'a Credential extension is matched by Hosts and Realm: no association file is checked';
    for (const check of ['association', 'cdn', 'tls'] as const) add(result(check, null, 'skipped', why, 0));
  } else if (options.network === false) {
    for (const check of ['association', 'cdn', 'tls'] as const)
      add(result(check, null, 'skipped', 'network checks off', 0));
  } else if (urls.length === 0) {
    for (const check of ['association', 'cdn', 'tls'] as const)
      add(result(check, null, 'skipped', 'no URLs to check', 0));
  } else {
    const perHost = await Promise.all(urls.map((url) => checkHost(url, team, container, options)));
    for (const checks of perHost) report.checks.push(...checks);
  }

  // 5. macOS: the extension, the association macOS holds, the container's entitlement, Platform SSO.
  report.checks.push(...(await macChecks(settings, extension, urls, options)));

  // 6. Platform SSO claim drift.
  add(await claimAudit(settings, options));

  const order = { fail: 0, pass: 1, skip: 2 } as const;
  const rank = { error: 0, warning: 1, note: 2 } as const;
  report.checks.sort((a, b) => order[a.status] - order[b.status] || rank[a.severity] - rank[b.severity]);
  return report;
}

async function checkHost(
  url: URL,
  team: string | null,
  container: string | null,
  options: SsoDoctorOptions,
): Promise<CheckResult[]> {
  const host = url.host;
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  if (url.protocol !== 'https:')
    return [
      result(
        'association',
        host,
        'aasa_url_not_https',
        `${shown(url.href)} is not https: Apple fetches no association file for it`,
        0,
      ),
      result('cdn', host, 'skipped', 'the URL is not https', 0),
      result('tls', host, 'skipped', 'the URL is not https', 0),
    ];
  const out: CheckResult[] = [];
  const aasaUrl = new URL(`https://${host}/.well-known/apple-app-site-association`);
  const cdnUrl = new URL(`${options.cdnBase.replace(/\/+$/, '')}/${encodeURIComponent(hostname)}`);
  const [aasa, cdn] = await Promise.all([
    timed(() => fetchAndJudge(aasaUrl, hostname, options, options.allowLocal ?? false)),
    timed(() => fetchAndJudge(cdnUrl, cdnUrl.hostname.replace(/^\[|\]$/g, ''), options, true)),
  ]);

  // The association file on the host.
  let hostFile: { file: Record<string, unknown>; lastModified: string | null } | null = null;
  const a = aasa.value;
  if (!a.get.ok) {
    const code: SsoDoctorCode =
      a.get.code === 'timeout' ? 'aasa_timeout' : a.get.code === 'tls_failed' ? 'aasa_tls_failed' : 'aasa_unreachable';
    out.push(result('association', host, code, `${aasaUrl.href}: ${a.get.message}`, aasa.ms));
  } else if (a.chain.kind === 'untrusted' || a.chain.kind === 'malformed') {
    out.push(
      result(
        'association',
        host,
        'aasa_tls_untrusted',
        `${aasaUrl.href}: the chain is not trusted (${a.chain.kind === 'untrusted' ? a.chain.diagnosis : a.chain.message})`,
        aasa.ms,
      ),
    );
  } else if (!team || !container) {
    out.push(
      result(
        'association',
        host,
        team ? 'aasa_container_unknown' : 'sso_key_missing',
        team
          ? `cannot tell the container app of ${shown(container ?? 'the extension')}`
          : 'no TeamIdentifier to look for',
        aasa.ms,
      ),
    );
  } else {
    const verdict = judgeAssociation(a.get, team, container);
    out.push(result('association', host, verdict.code, verdict.detail, aasa.ms));
    const parsed = a.get.status === 200 ? parseAssociationBody(a.get) : null;
    if (parsed?.ok) hostFile = { file: parsed.value, lastModified: a.get.headers['last-modified'] ?? null };
  }

  // Apple's CDN copy.
  const c = cdn.value;
  if (!c.get.ok) {
    const code: SsoDoctorCode =
      c.get.code === 'timeout' ? 'cdn_timeout' : c.get.code === 'tls_failed' ? 'cdn_tls_untrusted' : 'cdn_unreachable';
    out.push(result('cdn', host, code, `${cdnUrl.href}: ${c.get.message}`, cdn.ms));
  } else if (c.chain.kind === 'intercepted') {
    out.push(
      result(
        'cdn',
        host,
        'tls_intercepted',
        `${cdnUrl.host}'s chain is trusted only through "${c.chain.root}", a root added to this machine, not one of the system's own (${options.trust.systemSource})`,
        cdn.ms,
      ),
    );
  } else if (c.chain.kind !== 'trusted') {
    out.push(
      result(
        'cdn',
        host,
        'cdn_tls_untrusted',
        `${cdnUrl.host}: ${c.chain.kind === 'untrusted' ? c.chain.diagnosis : c.chain.message}`,
        cdn.ms,
        { hint: c.chain.kind === 'untrusted' ? c.chain.hint : null },
      ),
    );
  } else if (!team || !container) {
    out.push(result('cdn', host, 'skipped', 'no TeamIdentifier or container app to look for', cdn.ms));
  } else {
    const verdict: Verdict = judgeCdn(c.get, hostFile, team, container);
    out.push(result('cdn', host, verdict.code, verdict.detail, cdn.ms));
  }

  // 4. The IdP's chain, with the trust capability's diagnosis and hint.
  if (!a.get.ok && a.get.chain.length === 0)
    out.push(result('tls', host, 'idp_tls_unreachable', a.get.message, aasa.ms));
  else {
    const chain = a.chain;
    const ms = aasa.ms;
    if (chain.kind === 'trusted')
      out.push(
        result(
          'tls',
          host,
          options.trust.systemUnknown ? 'interception_unchecked' : 'ok',
          `trusted through "${chain.root ?? 'a system root'}"${options.trust.systemUnknown ? ` (${options.trust.systemUnknown})` : ''}`,
          ms,
        ),
      );
    else if (chain.kind === 'intercepted')
      out.push(
        result(
          'tls',
          host,
          'tls_intercepted',
          `${hostname}'s chain is trusted only through "${chain.root}", a root added to this machine, not one of the system's own (${options.trust.systemSource})`,
          ms,
        ),
      );
    else if (chain.kind === 'untrusted')
      out.push(
        result('tls', host, 'idp_tls_untrusted', `${chain.diagnosis}${chain.message ? `: ${chain.message}` : ''}`, ms, {
          hint: chain.hint,
        }),
      );
    else out.push(result('tls', host, 'idp_tls_untrusted', `malformed: ${chain.message}`, ms));
  }
  return out;
}

async function fetchAndJudge(
  url: URL,
  hostname: string,
  options: SsoDoctorOptions,
  allowLocal: boolean,
): Promise<{ get: GetResult; chain: ChainVerdict }> {
  const get = await httpsGet(url, {
    timeoutMs: options.timeoutMs,
    maxBytes: associationMaxBytes,
    allowLocal,
    signal: options.signal,
  });
  const chain: ChainVerdict =
    get.chain.length > 0
      ? await judgeChain(get.chain, hostname, options.trust)
      : { kind: 'malformed', message: 'no certificate' };
  return { get, chain };
}

function commandState(check: SsoCheckName, target: string, run: CommandRun): CheckResult | null {
  if (run.state === 'missing') return result(check, target, 'command_missing', run.message, run.ms);
  if (run.state === 'timed_out') return result(check, target, 'command_timed_out', run.message, run.ms);
  if (run.state === 'failed') return result(check, target, 'command_failed', run.message, run.ms);
  return null;
}

function parsedState<T>(
  check: SsoCheckName,
  target: string,
  parsed: Parsed<T>,
  notRegistered: SsoDoctorCode,
  ms: number,
): CheckResult | null {
  if (parsed.state === 'malformed') return result(check, target, 'output_malformed', parsed.detail, ms);
  if (parsed.state === 'incomplete') return result(check, target, 'output_incomplete', parsed.detail, ms);
  if (parsed.state === 'not_registered') return result(check, target, notRegistered, parsed.detail, ms);
  return null;
}

async function macChecks(
  settings: Dict,
  extension: string | null,
  urls: URL[],
  options: SsoDoctorOptions,
): Promise<CheckResult[]> {
  const platform = options.platform ?? process.platform;
  const names: SsoCheckName[] = ['pluginkit', 'swcutil', 'codesign', 'platform_sso'];
  if (platform !== 'darwin') return names.map((n) => result(n, null, 'not_macos', 'runs on macOS only', 0));
  const commands = options.commands ?? macCommands;
  const out: CheckResult[] = [];
  const hosts = [...new Set(urls.filter((u) => u.protocol === 'https:').map((u) => u.hostname.toLowerCase()))];
  let containerApp: string | null = null;
  let appexPath: string | null = null;

  // pluginkit: registered, enabled, how many copies.
  if (!extension || extension === kerberosExtension) {
    out.push(result('pluginkit', null, 'skipped', extension ? "Apple's own extension" : 'no ExtensionIdentifier', 0));
  } else {
    const run = await runCommand(commands.pluginkit, ['-m', '-v', '-i', extension], options.timeoutMs, options.signal);
    const failed = commandState('pluginkit', 'pluginkit', run);
    if (failed) out.push(failed);
    else if (run.state === 'ok') {
      const parsed = parsePluginkit(run.stdout, extension);
      const bad = parsedState('pluginkit', 'pluginkit', parsed, 'extension_not_registered', run.ms);
      if (bad) out.push(bad);
      else if (parsed.state === 'ok') {
        const copies = parsed.value;
        const paths = [...new Set(copies.map((c) => c.path!))];
        appexPath = paths[0]!;
        containerApp = containerAppOf(appexPath);
        if (copies.every((c) => c.election === '-'))
          out.push(
            result(
              'pluginkit',
              'pluginkit',
              'extension_disabled',
              `${extension} is disabled (-) at ${paths.join(', ')}`,
              run.ms,
            ),
          );
        else if (paths.length > 1)
          out.push(
            result(
              'pluginkit',
              'pluginkit',
              'extension_duplicates',
              `${paths.length} copies: ${paths.slice(0, 5).join('; ')}`,
              run.ms,
            ),
          );
        else
          out.push(
            result(
              'pluginkit',
              'pluginkit',
              'ok',
              `registered (${copies[0]!.election.trim() || 'default'}) at ${paths[0]}`,
              run.ms,
            ),
          );
      }
    }
  }

  // swcutil show: the authsrv entry of each host, approved or not. Needs root.
  if (hosts.length === 0) out.push(result('swcutil', null, 'skipped', 'no https URL hosts', 0));
  else {
    const run = await runCommand(commands.swcutil, ['show'], options.timeoutMs, options.signal);
    const failed = commandState('swcutil', 'swcutil show', run);
    if (failed) out.push(failed);
    else if (run.state === 'ok')
      for (const host of hosts) {
        const parsed = parseSwcutilShow(run.stdout, host);
        const bad = parsedState('swcutil', host, parsed, 'swc_entry_missing', run.ms);
        if (bad) out.push(bad);
        else if (parsed.state === 'ok') {
          const entry = parsed.value.find((e) => e.siteApproval === 'approved') ?? parsed.value[0]!;
          const managed = entry.flags.includes('enterpriseManaged') ? ', enterpriseManaged' : '';
          out.push(
            entry.siteApproval === 'approved'
              ? result('swcutil', host, 'ok', `authsrv ${entry.appId ?? '?'} approved${managed}`, run.ms)
              : result(
                  'swcutil',
                  host,
                  'swc_not_approved',
                  `authsrv ${entry.appId ?? '?'}: Site/Fmwk Approval ${entry.siteApproval}${managed}`,
                  run.ms,
                ),
          );
        }
      }
  }

  // codesign: the container app (not the extension) holds authsrv:<host>.
  if (!containerApp)
    out.push(result('codesign', null, 'skipped', 'no container app path (pluginkit did not give one)', 0));
  else {
    const run = await runCommand(
      commands.codesign,
      ['-d', '--entitlements', '-', containerApp],
      options.timeoutMs,
      options.signal,
    );
    const failed = commandState('codesign', containerApp, run);
    if (failed) out.push(failed);
    else if (run.state === 'ok') {
      const parsed = parseEntitlements(run.stdout);
      const bad = parsedState('codesign', containerApp, parsed, 'entitlement_missing', run.ms);
      if (bad) out.push(bad);
      else if (parsed.state === 'ok') {
        const entries = authsrvEntries(parsed.value.associatedDomains ?? []);
        const missing = hosts.filter((h) => !entries.some((e) => e.host === h));
        const developer = entries.filter((e) => e.developer).map((e) => e.host);
        const devNote = developer.length
          ? ` (${developer.join(', ')} with ?mode=developer: read from the host only where developer mode is on)`
          : '';
        // The seed's step 3: the entitlement belongs on the container app, not the extension.
        let onExtension = false;
        if (missing.length && appexPath) {
          const ext = await runCommand(
            commands.codesign,
            ['-d', '--entitlements', '-', appexPath],
            options.timeoutMs,
            options.signal,
          );
          const extParsed = ext.state === 'ok' ? parseEntitlements(ext.stdout) : null;
          onExtension =
            extParsed?.state === 'ok' &&
            missing.some((h) => authsrvEntries(extParsed.value.associatedDomains ?? []).some((e) => e.host === h));
        }
        out.push(
          onExtension
            ? result(
                'codesign',
                appexPath,
                'entitlement_on_extension',
                `authsrv:${missing.join(', authsrv:')} is on the extension, not on ${containerApp}`,
                run.ms,
              )
            : missing.length
              ? result(
                  'codesign',
                  containerApp,
                  'entitlement_missing',
                  `no authsrv:${missing.join(', authsrv:')} in the container's entitlement${devNote}`,
                  run.ms,
                )
              : result(
                  'codesign',
                  containerApp,
                  'ok',
                  `authsrv:${hosts.join(', authsrv:')} on the container app${devNote}`,
                  run.ms,
                ),
        );
      }
    }
  }

  // app-sso platform -s, when the payload configures Platform SSO.
  if (!settings.PlatformSSO) out.push(result('platform_sso', null, 'skipped', 'the payload has no PlatformSSO', 0));
  else {
    const run = await runCommand(commands.appSso, ['platform', '-s'], options.timeoutMs, options.signal);
    const failed = commandState('platform_sso', 'app-sso platform -s', run);
    if (failed) out.push(failed);
    else if (run.state === 'ok') out.push(platformSsoResult(parseAppSsoPlatform(run.stdout), run.ms));
  }
  return out;
}

export function platformSsoResult(parsed: ReturnType<typeof parseAppSsoPlatform>, ms: number): CheckResult {
  const target = 'app-sso platform -s';
  const bad = parsedState('platform_sso', target, parsed, 'psso_device_not_registered', ms);
  if (bad) return bad;
  if (parsed.state !== 'ok') return result('platform_sso', target, 'output_malformed', 'no state', ms);
  const s = parsed.value;
  const attrs = `extension ${s.extensionIdentifier ?? '?'}, login type ${s.loginType ?? '?'}`;
  if (!s.deviceRegistered)
    return result('platform_sso', target, 'psso_device_not_registered', `registrationCompleted false (${attrs})`, ms);
  if (s.userRegistered !== true)
    return result(
      'platform_sso',
      target,
      'psso_user_not_registered',
      `user state ${s.userState ?? '(null)'} (${attrs})`,
      ms,
    );
  if (!s.tokensReceived) return result('platform_sso', target, 'psso_no_tokens', `no SSO tokens (${attrs})`, ms);
  return result(
    'platform_sso',
    target,
    'ok',
    `device and user registered (${attrs}); SSO tokens received ${s.tokensReceived}, expiration ${s.tokensExpiration ?? '?'}`,
    ms,
  );
}

async function claimAudit(settings: Dict, options: SsoDoctorOptions): Promise<CheckResult> {
  const claims = claimsInUse(settings);
  if (claims === null) return result('claims', null, 'skipped', 'the payload has no PlatformSSO', 0);
  if (claims.length === 0) return result('claims', null, 'skipped', 'PlatformSSO maps no claims', 0);
  if (options.network === false) return result('claims', null, 'skipped', 'network checks off', 0);
  const issuer = issuerFor(settings, options.issuer);
  if (!issuer) return result('claims', null, 'skipped', 'no issuer: give --issuer', 0);
  let url: URL;
  try {
    url = new URL(discoveryUrl(issuer));
    if (url.protocol !== 'https:') throw new Error('not https');
  } catch {
    return result('claims', issuer, 'discovery_invalid', `${shown(issuer)} is not an https issuer`, 0);
  }
  // An issuer derived from the payload's URLs is outside input; --issuer is the administrator's.
  const allowLocal = options.issuer !== null || (options.allowLocal ?? false);
  const { value: get, ms } = await timed(() =>
    httpsGet(url, { timeoutMs: options.timeoutMs, maxBytes: 1024 * 1024, allowLocal, signal: options.signal }),
  );
  if (!get.ok) return result('claims', url.href, 'discovery_unreachable', get.message, ms);
  const chain = await judgeChain(get.chain, url.hostname.replace(/^\[|\]$/g, ''), options.trust);
  if (chain.kind === 'untrusted' || chain.kind === 'malformed')
    return result(
      'claims',
      url.href,
      'discovery_unreachable',
      `the chain is not trusted (${chain.kind === 'untrusted' ? chain.diagnosis : chain.message})`,
      ms,
    );
  const verdict = judgeDiscovery(get, claims);
  return result('claims', url.href, verdict.code, verdict.detail, ms);
}
