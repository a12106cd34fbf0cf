// Telemetry's row of `agentctl doctor`: one real request to the collector that sends nothing
// (an empty OTLP export, exporter.ts probe()), as `santactl doctor` makes a real POST: it checks
// the URL, the network, TLS and the token. Codes: docs/codes.md, "Doctor checks".
import type { CheckResult, DoctorCheck } from '../capability.js';
import { productVersion } from '../version.js';
import type { TelemetryConfig } from './config.js';
import { collectorUrlProblem, describeCollector } from './endpoint.js';
import { describeTelemetryCode } from './status-view.js';

/** The telemetry code of a failed request → the doctor's code and fix. */
function failure(code: string, status: number | undefined): [string, string] {
  if (code === 'collector_tls')
    return ['telemetry_tls_failed', "check CollectorCAFile and the collector's certificate"];
  if (status === 401 || status === 403)
    return ['telemetry_auth_failed', 'check the bearer token (CollectorBearerTokenFile) and the client certificate'];
  if (code === 'collector_unreachable' || code === 'collector_timeout')
    return ['telemetry_unreachable', 'check CollectorURL, the network, a proxy or firewall'];
  if (/^(token_file|ca_file|client_certificate|client_key)_|_invalid$/.test(code))
    return ['telemetry_credentials', 'fix the file named, then agentctl reload'];
  return ['telemetry_rejected', 'check CollectorURL (the logs endpoint) and the collector'];
}

export const telemetryCheck: DoctorCheck = {
  name: 'telemetry',
  deadlineMs: 20_000,
  codes: [
    'telemetry_off',
    'telemetry_url_invalid',
    'telemetry_tls_failed',
    'telemetry_auth_failed',
    'telemetry_unreachable',
    'telemetry_credentials',
    'telemetry_rejected',
  ],
  async run({ config, signal, progress }): Promise<CheckResult> {
    const c = config as TelemetryConfig;
    if (!c.CollectorURL)
      return { status: 'info', code: 'telemetry_off', message: 'No collector is configured (CollectorURL).' };
    const urlProblem = collectorUrlProblem(c.CollectorURL);
    if (urlProblem)
      return { status: 'failing', code: 'telemetry_url_invalid', message: urlProblem, fix: 'fix CollectorURL' };
    const { OtlpHttpExporter } = await import('./exporter.js');
    const exporter = new OtlpHttpExporter({
      collectorUrl: c.CollectorURL,
      caFile: c.CollectorCAFile || undefined,
      bearerToken: c.CollectorBearerToken || undefined,
      bearerTokenFile: c.CollectorBearerTokenFile || undefined,
      clientCertificateFile: c.CollectorClientCertificateFile || undefined,
      clientKeyFile: c.CollectorClientKeyFile || undefined,
      timeoutMs: Math.min(15_000, (c.CollectorTimeoutSeconds ?? 10) * 1000),
      resource: {} as never,
      scopeVersion: productVersion(),
      userAgent: `TrustGuard/${productVersion()} (doctor)`,
    });
    const where = describeCollector(c.CollectorURL);
    progress(`asking the collector ${where}…`);
    const outcome = await exporter.probe(signal);
    if (outcome.kind === 'delivered')
      return {
        status: 'passing',
        code: 'ok',
        message: `${where} accepted an empty export${c.CollectorBearerToken || c.CollectorBearerTokenFile ? ' with the token' : ''}.`,
      };
    const [code, fix] = failure(outcome.code, outcome.status);
    const detail = outcome.detail ? ` (${outcome.detail.slice(0, 200)})` : '';
    return {
      status: 'failing',
      code,
      message: `${where}: ${describeTelemetryCode(outcome.code)}${outcome.status ? ` HTTP ${outcome.status}.` : ''}${detail}`,
      fix,
    };
  },
};

export const checks: readonly DoctorCheck[] = [telemetryCheck];
