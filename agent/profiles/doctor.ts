// `agentctl doctor profile`: every check of the files given together (SPEC §1.3). Parse,
// signature, identity, schema, certificates, SSO payloads, and the checks across the files.
// Produces findings with codes (codes.ts); format.ts makes the human, JSON and SARIF output.
import { X509Certificate } from 'node:crypto';
import { evaluateTrust } from '../../native/trust.js';
import { payloadMetadataKeys } from '../config/defaults.js';
import { diagnoseEvaluation } from '../trust/diagnosis.js';
import {
  certificatesIn,
  chainChecks,
  commonName,
  scepChecks,
  staticChecks,
  summarize,
  type CertificateOptions,
} from './cert-checks.js';
import { findingCodes, type Category, type Finding, type FindingCode, type Severity } from './codes.js';
import {
  isDict,
  joinPath,
  lineOf,
  payloadsOf,
  readProfileFile,
  type Dict,
  type Payload,
  type ProfileDocument,
} from './reader.js';
import { checkPayloadSchema, type SchemaOptions, type SchemaSet } from './schema.js';
import {
  associatedDomainsPayloadType,
  associatedHostsFor,
  authsrvHosts,
  checkSsoPayload,
  ssoPayloadType,
} from './sso-checks.js';

export interface DoctorOptions extends CertificateOptions, SchemaOptions {
  schemas: SchemaSet | null;
}

export type CheckStatus = 'pass' | 'fail' | 'not_run' | 'not_applicable';

export interface FileReport {
  file: string;
  parsed: boolean;
  format: 'xml' | 'binary' | null;
  container: 'plain' | 'cms_der' | 'cms_pem' | null;
  kind: 'profile' | 'installed' | 'preferences' | null;
  signer: { subject: string; issuer: string; not_after: string; signing_time: string | null } | null;
  payloads: Array<{ type: string | null; identifier: string | null; uuid: string | null; key_path: string }>;
  checks: Record<Category, CheckStatus>;
  findings: Finding[];
}

export interface DoctorReport {
  files: FileReport[];
  schemas: string | null;
  summary: { files: number; errors: number; warnings: number; notes: number };
}

const categories: Category[] = ['parse', 'signature', 'identity', 'schema', 'certificate', 'sso', 'across'];
const certificatePayloadTypes = new Set([
  'com.apple.security.root',
  'com.apple.security.pkcs1',
  'com.apple.security.pem',
]);
const scepPayloadType = 'com.apple.security.scep';
const uuidPattern = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/;
/** Applied once by macOS when no schema says so (without --schemas). */
const appliedOnceFallback = new Set([
  'com.apple.security.firewall',
  'com.apple.SoftwareUpdate',
  'com.apple.dnsSettings.managed',
]);

interface Context {
  report: FileReport;
  document: ProfileDocument | null;
}

function makeFinding(
  file: string,
  payload: Payload | null,
  code: FindingCode,
  keyPath: string | null,
  line: number | null,
  message: string,
  severity?: Severity,
  column: number | null = null,
): Finding {
  const info = findingCodes[code];
  return {
    code,
    severity: severity ?? info.severity,
    category: info.category,
    file,
    payload_type: payload?.type ?? null,
    payload_identifier: payload?.identifier ?? null,
    key_path: keyPath,
    line,
    column,
    // Control characters from a file never reach a terminal.
    message: [...message.slice(0, 400)].map((c) => (c < ' ' || c === '\x7f' ? '?' : c)).join(''),
    fix: info.fix,
  };
}

/** Runs every check on `files`. Never throws for a bad file: it becomes a finding. */
export async function runDoctor(files: string[], options: DoctorOptions): Promise<DoctorReport> {
  const contexts: Context[] = [];
  for (const file of files) {
    const report: FileReport = {
      file,
      parsed: false,
      format: null,
      container: null,
      kind: null,
      signer: null,
      payloads: [],
      checks: Object.fromEntries(categories.map((c) => [c, 'not_applicable'])) as Record<Category, CheckStatus>,
      findings: [],
    };
    const read = readProfileFile(file);
    report.checks.parse = 'pass';
    if (!read.ok) {
      report.findings.push(
        makeFinding(
          file,
          null,
          read.code,
          null,
          read.signed ? null : read.line,
          read.signed && read.line ? `${read.message} (line ${read.line} of the signed content)` : read.message,
          undefined,
          read.signed ? null : read.column,
        ),
      );
      contexts.push({ report, document: null });
      continue;
    }
    const document = read.document;
    Object.assign(report, {
      parsed: true,
      format: document.format,
      container: document.container,
      kind: document.kind,
    });
    const add = adder(report);
    for (const d of document.duplicateKeys)
      add(
        null,
        'plist_duplicate_key',
        d.key,
        document.container === 'plain' ? d.line : null,
        `the key ${d.key.slice(0, 80)} appears twice in one dictionary`,
      );
    if (document.kind === 'preferences')
      add(null, 'not_a_profile', null, null, 'a preference plist, not a profile: only its parse was checked');
    await signatureChecks(document, options, add, report);
    const payloads = payloadsOf(document);
    report.payloads = payloads.map((p) => ({ type: p.type, identifier: p.identifier, uuid: p.uuid, key_path: p.path }));
    if (document.kind !== 'preferences') identityChecks(document, payloads, add);
    if (document.kind !== 'preferences') {
      if (options.schemas) {
        for (const payload of payloads) {
          const result = checkPayloadSchema(document, payload, options.schemas, options);
          if (!result.schema && payload.role === 'payload')
            add(
              payload,
              'schema_none',
              payload.path,
              null,
              `no Apple schema for ${payload.type ?? 'a payload without PayloadType'}`,
            );
          for (const issue of result.issues) add(payload, issue.code, issue.keyPath, issue.line, issue.message);
        }
      } else add(null, 'schema_not_run', null, null, 'the schema checks did not run (no --schemas)');
    }
    contexts.push({ report, document });
  }
  await acrossChecks(contexts, options);
  for (const { report } of contexts) finishChecks(report, options);
  const all = contexts.flatMap((c) => c.report.findings);
  return {
    files: contexts.map((c) => c.report),
    schemas: options.schemas?.dir ?? null,
    summary: {
      files: contexts.length,
      errors: all.filter((f) => f.severity === 'error').length,
      warnings: all.filter((f) => f.severity === 'warning').length,
      notes: all.filter((f) => f.severity === 'note').length,
    },
  };
}

type Add = (
  payload: Payload | null,
  code: FindingCode,
  keyPath: string | null,
  line: number | null,
  message: string,
  severity?: Severity,
) => void;

/** Adds a finding to the report of one file. */
function adder(report: FileReport): Add {
  return (payload, code, keyPath, line, message, severity) =>
    void report.findings.push(makeFinding(report.file, payload, code, keyPath, line, message, severity));
}

async function signatureChecks(document: ProfileDocument, options: DoctorOptions, add: Add, report: FileReport) {
  const signed = document.signed;
  if (!signed) {
    add(null, 'unsigned', null, null, 'the profile is not signed');
    return;
  }
  const { verdict, data } = signed;
  const signerInfo = verdict.signer ? summarize(verdict.signer) : null;
  if (verdict.signer && signerInfo)
    report.signer = {
      subject: signerInfo.subject,
      issuer: signerInfo.issuer,
      not_after: signerInfo.not_after,
      signing_time: verdict.signingTime?.toISOString() ?? null,
    };
  if (verdict.status !== 'valid') {
    const code: FindingCode =
      verdict.status === 'unsupported'
        ? 'signature_unsupported'
        : verdict.status === 'signer_missing'
          ? 'signer_missing'
          : verdict.status;
    add(null, code, null, null, verdict.detail);
    if (verdict.status !== 'unsupported') return;
  }
  if (!verdict.signer) return;
  const x = new X509Certificate(verdict.signer);
  const subject = commonName(x.subject);
  if (verdict.status === 'valid')
    add(null, 'signature_valid', null, null, `signed by ${subject} (${x.subject.replace(/\n/g, ', ')})`);
  const others = data.certificates.filter((c) => !c.equals(verdict.signer!)).slice(0, 60);
  const evaluate = async (atMs: number) => {
    try {
      const e = await evaluateTrust({
        chain: [verdict.signer!, ...others],
        policy: 'basic',
        anchors: options.anchors,
        verifyDate: atMs,
      });
      return { evaluation: e, diagnosis: diagnoseEvaluation(e, atMs) };
    } catch {
      return null;
    }
  };
  const from = Date.parse(x.validFrom);
  const to = Date.parse(x.validTo);
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  if (options.atMs > to) add(null, 'signer_expired', null, null, `the signer ${subject} expired on ${day(to)}`);
  else if (options.atMs < from)
    add(null, 'signer_not_yet_valid', null, null, `the signer ${subject} is valid only from ${day(from)}`);
  const signingMs = verdict.signingTime?.getTime() ?? null;
  if (signingMs !== null && signingMs > to)
    add(
      null,
      'signer_expired_at_signing',
      null,
      null,
      `the signer ${subject} had expired (${day(to)}) when the profile was signed (${day(signingMs)})`,
    );
  // Trust: at the signing time when the CMS says it (a signature made while the chain was
  // valid), else now; expiry is reported above on its own.
  const at =
    signingMs !== null && signingMs <= to && signingMs >= from ? signingMs : Math.min(Math.max(options.atMs, from), to);
  const result = await evaluate(at);
  if (result && !result.evaluation.trusted && result.diagnosis !== 'expired' && result.diagnosis !== 'not_yet_valid')
    add(
      null,
      'signer_untrusted',
      null,
      null,
      `the signer ${subject} does not chain to a trusted root (${result.diagnosis}${result.evaluation.errorMessage ? `: ${result.evaluation.errorMessage}` : ''})`,
    );
}

function identityChecks(document: ProfileDocument, payloads: Payload[], add: Add) {
  const installed = document.kind === 'installed';
  for (const payload of payloads) {
    const dict = payload.dict;
    const required = installed
      ? payload.role === 'top'
        ? ['ProfileIdentifier', 'ProfileUUID']
        : ['PayloadType', 'PayloadIdentifier', 'PayloadUUID']
      : ['PayloadType', 'PayloadIdentifier', 'PayloadUUID', 'PayloadVersion'];
    for (const key of required)
      if (!Object.hasOwn(dict, key))
        add(payload, 'payload_key_missing', joinPath(payload.path, key), null, `${key} is missing`);
    const uuidKey = installed && payload.role === 'top' ? 'ProfileUUID' : 'PayloadUUID';
    if (typeof dict[uuidKey] === 'string' && !uuidPattern.test(dict[uuidKey]))
      add(
        payload,
        'payload_uuid_invalid',
        joinPath(payload.path, uuidKey),
        lineOf(document, dict, uuidKey),
        `${JSON.stringify(String(dict[uuidKey]).slice(0, 60))} is not a UUID`,
      );
    if (payload.role === 'top' && !installed) {
      if (typeof dict.PayloadType === 'string' && dict.PayloadType !== 'Configuration')
        add(
          payload,
          'toplevel_type_invalid',
          'PayloadType',
          lineOf(document, dict, 'PayloadType'),
          `the outer PayloadType is ${JSON.stringify(dict.PayloadType.slice(0, 80))}, not "Configuration"`,
        );
      if (Object.hasOwn(dict, 'PayloadScope') && dict.PayloadScope !== 'System' && dict.PayloadScope !== 'User')
        add(
          payload,
          'payload_scope_invalid',
          'PayloadScope',
          lineOf(document, dict, 'PayloadScope'),
          `PayloadScope is ${JSON.stringify(String(dict.PayloadScope).slice(0, 40))}`,
        );
      for (const key of Object.keys(dict))
        if (key !== 'PayloadScope' && key.toLowerCase() === 'payloadscope')
          add(
            payload,
            'payload_scope_invalid',
            key,
            lineOf(document, dict, key),
            `${key} is spelled with the wrong case (PayloadScope): it is ignored`,
          );
    }
  }
}

interface Seen {
  ctx: Context;
  payload: Payload;
  line: number | null;
}

async function acrossChecks(contexts: Context[], options: DoctorOptions) {
  const byUuid = new Map<string, Seen>();
  const byIdentifier = new Map<string, Seen>();
  const ssoPayloads: Array<{ ctx: Context; payload: Payload }> = [];
  const associated: Array<{ application: string; hosts: string[] }> = [];
  const certificates: Array<{ ctx: Context; payload: Payload; der: Buffer }> = [];
  const sceps: Array<{ ctx: Context; payload: Payload }> = [];
  const byType = new Map<string, Seen[]>();
  const preferences = new Map<string, { seen: Seen; value: string; key: string }>();
  for (const ctx of contexts) {
    const document = ctx.document;
    if (!document || document.kind === 'preferences') continue;
    const add = adder(ctx.report);
    const line = (container: object, key: string) =>
      document.container === 'plain' ? lineOf(document, container, key) : null;
    for (const payload of payloadsOf(document)) {
      const uuidKey = document.kind === 'installed' && payload.role === 'top' ? 'ProfileUUID' : 'PayloadUUID';
      const idKey = document.kind === 'installed' && payload.role === 'top' ? 'ProfileIdentifier' : 'PayloadIdentifier';
      if (payload.uuid) {
        const prior = byUuid.get(payload.uuid.toUpperCase());
        const here = line(payload.dict, uuidKey);
        if (prior)
          add(
            payload,
            'payload_uuid_duplicate',
            joinPath(payload.path, uuidKey),
            here,
            `${payload.uuid} is also the PayloadUUID of ${describe(prior)}`,
          );
        else byUuid.set(payload.uuid.toUpperCase(), { ctx, payload, line: here });
      }
      if (payload.identifier) {
        const prior = byIdentifier.get(payload.identifier);
        const here = line(payload.dict, idKey);
        if (prior)
          add(
            payload,
            'payload_identifier_duplicate',
            joinPath(payload.path, idKey),
            here,
            `${payload.identifier.slice(0, 120)} is also the identifier of ${describe(prior)}`,
          );
        else byIdentifier.set(payload.identifier, { ctx, payload, line: here });
      }
      if (payload.role !== 'payload' || !payload.type) continue;
      byType.set(payload.type, [
        ...(byType.get(payload.type) ?? []),
        { ctx, payload, line: line(payload.dict, 'PayloadType') },
      ]);
      if (payload.type === ssoPayloadType) ssoPayloads.push({ ctx, payload });
      if (payload.type === associatedDomainsPayloadType) {
        associated.push(...authsrvHosts(payload.settings));
      }
      if (payload.type === 'com.apple.security.pkcs12')
        add(payload, 'private_key_not_read', payload.path, null, 'a PKCS#12 identity: not opened');
      if (payload.type === scepPayloadType) sceps.push({ ctx, payload });
      if (certificatePayloadTypes.has(payload.type)) {
        const found = certificatesIn(payload.settings.PayloadContent);
        const keyPath = joinPath(payload.settingsPath, 'PayloadContent');
        if (!Array.isArray(found))
          add(payload, 'certificate_unparsable', keyPath, line(payload.settings, 'PayloadContent'), found.error);
        else for (const der of found.slice(0, 16)) certificates.push({ ctx, payload, der });
      }
      // Managed preferences: custom domains, and the domains a ManagedClient.preferences payload carries.
      for (const pref of preferenceValues(payload)) {
        const key = `${pref.domain}\u0000${pref.key}`;
        const prior = preferences.get(key);
        const seen = { ctx, payload, line: line(pref.container, pref.key) };
        if (!prior) preferences.set(key, { seen, value: pref.value, key: pref.key });
        else if (prior.value !== pref.value && prior.seen.ctx !== ctx)
          add(
            payload,
            'preference_conflict',
            pref.keyPath,
            seen.line,
            `${pref.domain} ${pref.key} is ${pref.value.slice(0, 60)} here and ${prior.value.slice(0, 60)} in ${describe(prior.seen)}`,
          );
      }
    }
  }
  // Payload types macOS applies once: the schema's `multiple: false` for macOS.
  for (const [type, seen] of byType) {
    const schemas = options.schemas?.byType.get(type);
    const once = schemas ? schemas.every((s) => s.macOS?.multiple === false) : appliedOnceFallback.has(type);
    if (!once || seen.length < 2) continue;
    for (const s of seen.slice(1))
      adder(s.ctx.report)(
        s.payload,
        'payload_applied_once',
        joinPath(s.payload.path, 'PayloadType'),
        s.line,
        `macOS applies one ${type} payload; ${describe(seen[0]!)} has another (the last installed wins)`,
      );
  }
  for (const { ctx, payload } of ssoPayloads) {
    const document = ctx.document!;
    for (const issue of checkSsoPayload(payload.settings, associatedHostsFor(payload.settings, associated))) {
      const container = issue.index === null ? payload.settings : (payload.settings[issue.key] as object);
      const line =
        document.container !== 'plain'
          ? null
          : issue.index === null
            ? lineOf(document, payload.settings, issue.key)
            : (lineOf(document, container, issue.index) ?? lineOf(document, payload.settings, issue.key));
      const keyPath = joinPath(payload.settingsPath, issue.key);
      adder(ctx.report)(
        payload,
        issue.code,
        issue.index === null ? keyPath : joinPath(keyPath, issue.index),
        line,
        issue.message,
      );
    }
  }
  const pool = certificates.map((c) => c.der);
  // SCEP: the CA named by CAFingerprint, served by the SCEP server, checked as the payloads' own.
  await Promise.all(
    sceps.map(async ({ ctx, payload }) => {
      const document = ctx.document!;
      const nested = isDict(payload.settings.PayloadContent);
      const content = nested ? (payload.settings.PayloadContent as Dict) : payload.settings;
      const contentPath = nested ? joinPath(payload.settingsPath, 'PayloadContent') : payload.settingsPath;
      const at = (key: string) => (document.container === 'plain' ? lineOf(document, content, key) : null);
      const add = adder(ctx.report);
      const report = (code: FindingCode, key: string, message: string, severity?: Severity) =>
        add(payload, code, joinPath(contentPath, key), at(key), message, severity);
      const scep = await scepChecks(content, pool, options);
      for (const issue of scep.issues) report(issue.code, issue.key, issue.message, issue.severity);
      for (const der of scep.toCheck) {
        const issues = [
          ...staticChecks(der, options),
          ...(await chainChecks(der, [...pool, ...scep.toCheck], options)),
        ];
        for (const issue of issues) report(issue.code, 'URL', `the SCEP server's CA: ${issue.message}`, issue.severity);
      }
    }),
  );
  await Promise.all(
    certificates.map(async ({ ctx, payload, der }) => {
      const document = ctx.document!;
      const keyPath = joinPath(payload.settingsPath, 'PayloadContent');
      const line = document.container === 'plain' ? lineOf(document, payload.settings, 'PayloadContent') : null;
      const issues = [...staticChecks(der, options), ...(await chainChecks(der, pool, options))];
      const add = adder(ctx.report);
      for (const issue of issues) add(payload, issue.code, keyPath, line, issue.message, issue.severity);
    }),
  );
  for (const ctx of contexts) {
    if (!ctx.document) continue;
    const types = new Set(payloadsOf(ctx.document).map((p) => p.type));
    ctx.report.checks.sso = types.has(ssoPayloadType) ? 'pass' : 'not_applicable';
    ctx.report.checks.certificate = [...types].some(
      (t) => t && (certificatePayloadTypes.has(t) || t === scepPayloadType),
    )
      ? 'pass'
      : 'not_applicable';
  }
}

function stable(value: unknown): string {
  return (
    JSON.stringify(value, (_k, v: unknown) =>
      typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v,
    ) ?? 'null'
  );
}

function preferenceValues(
  payload: Payload,
): Array<{ domain: string; key: string; value: string; container: object; keyPath: string }> {
  const out: Array<{ domain: string; key: string; value: string; container: object; keyPath: string }> = [];
  const type = payload.type!;
  if (type === 'com.apple.ManagedClient.preferences') {
    const content = payload.settings.PayloadContent;
    if (!isDict(content)) return out;
    for (const [domain, entry] of Object.entries(content)) {
      if (!isDict(entry)) continue;
      for (const [level, list] of Object.entries(entry)) {
        if (!Array.isArray(list)) continue;
        list.forEach((item, i) => {
          if (!isDict(item) || !isDict(item.mcx_preference_settings)) return;
          const settings = item.mcx_preference_settings as Dict;
          for (const [key, value] of Object.entries(settings))
            out.push({
              domain,
              key,
              value: stable(value),
              container: settings,
              keyPath: `${payload.settingsPath}.PayloadContent.${domain}.${level}[${i}].mcx_preference_settings.${key}`,
            });
        });
      }
    }
    return out;
  }
  if (type.startsWith('com.apple.')) return out;
  for (const [key, value] of Object.entries(payload.settings))
    if (!payloadMetadataKeys.has(key))
      out.push({
        domain: type,
        key,
        value: stable(value),
        container: payload.settings,
        keyPath: joinPath(payload.settingsPath, key),
      });
  return out;
}

function describe(seen: Seen): string {
  return `${seen.payload.type ?? 'a payload'}${seen.payload.path ? ` at ${seen.payload.path}` : ''} in ${seen.ctx.report.file}${seen.line ? ` line ${seen.line}` : ''}`;
}

function finishChecks(report: FileReport, options: DoctorOptions) {
  const failed = (c: Category) => report.findings.some((f) => f.category === c && f.severity !== 'note');
  if (!report.parsed) {
    report.checks.parse = 'fail';
    for (const c of categories) if (c !== 'parse') report.checks[c] = 'not_run';
    return;
  }
  report.checks.signature = 'pass';
  report.checks.identity = report.kind === 'preferences' ? 'not_applicable' : 'pass';
  report.checks.schema = report.kind === 'preferences' ? 'not_applicable' : options.schemas ? 'pass' : 'not_run';
  report.checks.across = 'pass';
  for (const c of categories) if (failed(c)) report.checks[c] = 'fail';
  const order: Record<Severity, number> = { error: 0, warning: 1, note: 2 };
  report.findings.sort((a, b) => order[a.severity] - order[b.severity]);
}
