// `agentctl trust <https-URL | certificate-file>`: evaluates one target now, at the system time
// and at the corrected time (--at, --ntp, or the running daemon's confident estimate), and
// prints the verdict, the diagnosis and a hint. Exit 0 trusted, 2 not trusted, 1 could not
// evaluate, 64 usage.
import type { CommandInput } from '../capability.js';
import { renderSection, styleFor, type Row } from '../cli/format.js';
import { loadCommandConfig } from '../config/command-config.js';
import type { AgentConfig } from '../config/load.js';
import { exitCodes } from '../exit-codes.js';
import {
  checkTrust,
  exitCodeOf,
  parseTarget,
  TargetError,
  type Correction,
  type RevocationMode,
  type TrustReport,
} from './check.js';
import { caFileLimits, CertificateFileError, readCertificateFile } from './certificates.js';
import type { TrustConfig } from './config.js';
import { formatSkew } from './hint.js';

const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?([Zz]|[+-]\d{2}:?\d{2}))?$/;

/** --at: an ISO 8601 date-time with a zone, or a date (UTC midnight). */
export function parseAt(text: string): number | null {
  const m = ISO_8601.exec(text);
  if (!m) return null;
  const ms = Date.parse(m[4] === undefined ? `${text}T00:00:00Z` : text.replace(' ', 'T'));
  if (!Number.isFinite(ms)) return null;
  // Date.parse rolls 2026-02-30 over into March; refuse what is not a real date.
  if (m[4] === undefined && new Date(ms).toISOString().slice(0, 10) !== text) return null;
  return ms;
}

function usage(message: string): number {
  console.error(`agentctl trust: ${message}\n(run agentctl trust --help for usage)`);
  return exitCodes.usage;
}

/** The clock estimate of the given NTP servers: one round, like `agentctl time`. */
async function ntpCorrection(servers: string[], config: TrustConfig): Promise<Correction | { error: string }> {
  const { measureClock } = await import('../clock/measure.js');
  const c = config as unknown as Record<string, number>;
  const { progressLine } = await import('../cli/progress.js');
  const progress = progressLine();
  const asking = `asking ${servers.length} NTP server${servers.length === 1 ? '' : 's'}…`;
  progress.update(asking);
  const measured = await measureClock({
    ntp: servers,
    https: [],
    samples: c.NTPSamplesPerServer,
    timeoutMs: c.NTPTimeoutMilliseconds,
    sampleSpacingMs: c.NTPSampleSpacingMilliseconds,
    onSourceDone: (done) => progress.update(`${asking} ${done} answered`),
  });
  progress.done();
  const combination = measured.combination;
  if (combination.offsetMs === null) {
    const why = combination.failures[0]?.error ?? combination.uncertainReason ?? 'no estimate';
    return { error: `no usable clock estimate from ${servers.join(', ')} (${why})` };
  }
  // Sources named on the command line are the caller's choice: one is enough here.
  const agreeing = combination.agreeing;
  const first = agreeing.find((s) => s.kind === 'ntp');
  const source =
    agreeing.length === 1 ? `NTP ${agreeing[0]!.address}` : `${agreeing.length} of ${combination.total} NTP servers`;
  const host = first ? first.address.replace(/^\[([^\]]+)\](:\d+)?$/, '$1').replace(/^([^:[\]]+):\d+$/, '$1') : null;
  return {
    kind: 'offset',
    offsetMs: combination.offsetMs,
    uncertaintyMs: combination.uncertaintyMs,
    source,
    ntpHost: host,
  };
}

/**
 * The running daemon's confident clock estimate, if a daemon answers at once. With --config, its
 * socket is the one that configuration names (what chooseSocket would read again).
 */
async function daemonCorrection(configFile: string | undefined, config: AgentConfig): Promise<Correction | null> {
  try {
    const [{ chooseSocket }, { request }] = await Promise.all([
      import('../cli/socket.js'),
      import('../control/client.js'),
    ]);
    const socketPath = configFile === undefined ? (await chooseSocket({})).path : config.ControlSocketPath;
    const response = await request(socketPath, 'status', {}, 1000);
    if (!response.ok) return null;
    const clock = (
      response.result as { clock?: { offset_ms?: unknown; uncertainty_ms?: unknown; confident?: unknown } }
    ).clock;
    if (!clock || clock.confident !== true || typeof clock.offset_ms !== 'number') return null;
    return {
      kind: 'offset',
      offsetMs: clock.offset_ms,
      uncertaintyMs: typeof clock.uncertainty_ms === 'number' ? clock.uncertainty_ms : null,
      source: 'the guardrail',
      ntpHost: null,
    };
  } catch {
    return null;
  }
}

/** Room for a finding after the labels (17) and separators, within 80 columns. */
const findingWidth = 80 - 17 - 5;

export function findingLine(f: TrustReport['faults'][number]): string {
  const where = f.certificate === null ? 'chain' : f.certificate === 0 ? 'leaf' : `cert ${f.certificate}`;
  const printable = Array.from(f.message, (ch) => (ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f ? ' ' : ch));
  const line = `${f.code} (${where}): ${printable.join('')}`;
  return line.length > findingWidth ? `${line.slice(0, findingWidth - 1)}…` : line;
}

function verdictLine(trusted: boolean, result: string): string {
  return `${trusted ? 'trusted' : 'not trusted'} (${result})`;
}

export function formatReport(report: TrustReport, stream: NodeJS.WriteStream = process.stdout): string {
  const style = styleFor(stream);
  const rows: Row[] = [];
  rows.push([
    'Target',
    `${report.target} (policy ${report.policy}${report.hostname && report.policy === 'ssl' ? `, name ${report.hostname}` : ''})`,
  ]);
  rows.push(['Verdict', report.trusted ? 'Trusted' : 'Not trusted']);
  rows.push(['Diagnosis', report.findings.join(', ')]);
  // Every fault on one line each, headline first: the code, the certificate, what is wrong.
  report.faults.forEach((f, i) => rows.push([i === 0 ? 'Findings' : '', findingLine(f)]));
  if (report.error) rows.push(['Error', `${report.error.message} (${report.error.code})`]);
  const sys = report.at_system_time;
  if (sys) rows.push(['At system time', `${sys.time}: ${verdictLine(sys.trusted, sys.result)}`]);
  const cor = report.at_corrected_time;
  if (cor) {
    const offset = `${cor.offset_ms >= 0 ? '+' : '−'}${formatSkew(cor.offset_ms)}`;
    rows.push(['At corrected time', `${cor.time} (${cor.source}, ${offset}): ${verdictLine(cor.trusted, cor.result)}`]);
  }
  const rev = report.revocation;
  rows.push([
    'Revocation',
    rev.mode === 'off'
      ? 'not checked (off)'
      : `${rev.status}${rev.responder ? ` via ${rev.responder}` : ''}${rev.error ? ` (${rev.error})` : ''} [${rev.mode}]`,
  ]);
  if (report.leaf_expires_in_days !== null) {
    const days = report.leaf_expires_in_days;
    rows.push([
      'Leaf expires',
      days < 0 ? `${-days} day${days === -1 ? '' : 's'} ago` : `in ${days} day${days === 1 ? '' : 's'}`,
    ]);
  }
  rows.push(['Hint', report.hint ?? 'None']);
  const width = Math.max(...rows.map(([label]) => label.length));
  const chainRows: Row[] = report.chain.flatMap((c, i): Row[] => [
    [`${i}`, c.subject],
    ['   issuer', c.issuer],
    ['   valid', `${c.not_before ?? '?'} to ${c.not_after ?? '?'}`],
    ['   SHA-256', c.sha256],
  ]);
  const out = [renderSection('Trust', rows, style, width)];
  if (chainRows.length) out.push(renderSection('Chain', chainRows, style, 10));
  return `${out.join('\n')}\n`;
}

export async function run({ args, flags }: CommandInput): Promise<number> {
  const target = args[0];
  if (target === undefined) return usage('missing the target (an https URL or a certificate file)');
  try {
    parseTarget(target);
  } catch (error) {
    if (error instanceof TargetError) return usage(error.message);
    throw error;
  }
  const atText = flags.at as string | undefined;
  const ntp = (flags.ntp as string[] | undefined) ?? [];
  if (atText !== undefined && ntp.length > 0) return usage('give --at or --ntp, not both');
  let atMs: number | null = null;
  if (atText !== undefined) {
    atMs = parseAt(atText);
    if (atMs === null)
      return usage(`--at "${atText.slice(0, 60)}" is not an ISO 8601 date-time (e.g. 2026-05-01T12:00:00Z)`);
  }
  const hostname = flags.hostname as string | undefined;
  if (hostname !== undefined && (hostname === '' || hostname.length > 253 || /[\s/\0]/.test(hostname)))
    return usage(`--hostname "${hostname.slice(0, 60)}" is not a host name`);

  const configFile = flags.config as string | undefined;
  const loaded = await loadCommandConfig(configFile);
  const config = loaded as TrustConfig;
  // Ask the daemon now, while the anchors are read (issue 21: each wait costs a command's start).
  const fromDaemon = atMs === null && ntp.length === 0 ? daemonCorrection(configFile, loaded) : null;
  const caFiles = (flags.ca as string[] | undefined) ?? config.TrustCAFiles;
  const anchors: Buffer[] = [];
  for (const file of caFiles) {
    try {
      anchors.push(...(await readCertificateFile(file, caFileLimits)));
    } catch (error) {
      if (!(error instanceof CertificateFileError)) throw error;
      console.error(`agentctl trust: --ca: ${error.message}`);
      return exitCodes.error;
    }
  }
  if (flags['anchors-only'] === true && anchors.length === 0)
    return usage('--anchors-only needs --ca FILE (or TrustCAFiles) naming the anchors');

  let correction: Correction | null = null;
  if (atMs !== null) {
    correction = { kind: 'at', atMs, source: '--at' };
  } else if (ntp.length > 0) {
    const measured = await ntpCorrection(ntp, config);
    if ('error' in measured)
      console.error(`agentctl trust: --ntp: ${measured.error}; evaluating at the system time only`);
    else correction = measured;
  } else {
    correction = await fromDaemon;
  }

  const report = await checkTrust({
    target,
    hostname,
    anchors: anchors.length ? anchors : undefined,
    anchorsOnly: flags['anchors-only'] === true,
    correction,
    revocation: ((flags.revocation as RevocationMode | undefined) ?? config.TrustRevocation) as RevocationMode,
    ocspAllowLocal: config.TrustOCSPAllowLocal,
  });
  process.stdout.write(flags.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  return exitCodeOf(report);
}
