// OTLP/HTTP with JSON encoding: POST {CollectorURL}/v1/logs, Content-Type application/json,
// Content-Encoding gzip, Authorization: Bearer <token> (from a root-only file, or the managed
// preference), TLS with the system roots plus CollectorCAFile and an optional client
// certificate. It implements only the Exporter's send(): retries, backoff and dead-lettering
// are the Forwarder's, from the outcome classified here as the OTLP specification says
// (retryable: 429, 502, 503, 504 and failures to connect; anything else is final).
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { parseRetryAfter } from './backoff.js';
import type { CredentialFile, TelemetryCode } from './codes.js';
import { collectorText, pemSecretLines, secretForms, type SecretForms } from './collector-text.js';
import { parseStoredEvent, type StoredEvent } from './events.js';
import type { Exporter, SendOutcome } from './forwarder.js';
import { encodeLogsRequest, type ResourceAttributes } from './otlp.js';
import { logsEndpoint } from './endpoint.js';
import { readProtectedFile } from './protected-file.js';
import type { SpoolRecord } from './spool.js';

export { describeCollector, logsEndpoint } from './endpoint.js';

const gzip = promisify(zlib.gzip);
const RESPONSE_LIMIT = 64 << 10;
/** RFC 6750 b64token. */
const tokenPattern = /^[A-Za-z0-9\-._~+/]+=*$/;

export interface OtlpExporterOptions {
  /** CollectorURL: the base URL (…/v1/logs is added) or the full logs endpoint. */
  collectorUrl: string;
  caFile?: string;
  bearerToken?: string;
  bearerTokenFile?: string;
  clientCertificateFile?: string;
  clientKeyFile?: string;
  timeoutMs: number;
  resource: ResourceAttributes;
  scopeVersion: string;
  userAgent: string;
  gzipLevel?: number;
}

type Credentials =
  | { ok: true; token: string | null; tlsKey: string; tlsOptions: https.AgentOptions; secrets: string[] }
  | { ok: false; code: TelemetryCode; detail: string };

export class OtlpHttpExporter implements Exporter {
  private readonly endpoint: URL;
  private agent: http.Agent | null = null;
  private agentKey: string | null = null;
  private forms: SecretForms | null = null;
  private formsKey: string | null = null;

  constructor(private readonly options: OtlpExporterOptions) {
    this.endpoint = logsEndpoint(options.collectorUrl);
  }

  /** The request body for `records` (gzip-compressed OTLP JSON) and how many were unreadable. */
  async encode(
    records: SpoolRecord[],
  ): Promise<{ body: Buffer | null; json: string | null; unreadable: number; count: number }> {
    const events: Array<{ seq: number; event: StoredEvent }> = [];
    let unreadable = 0;
    for (const r of records) {
      const event = parseStoredEvent(r.payload);
      if (event) events.push({ seq: r.seq, event });
      else unreadable++;
    }
    if (events.length === 0) return { body: null, json: null, unreadable, count: 0 };
    const json = JSON.stringify(
      encodeLogsRequest({ resource: this.options.resource, scopeVersion: this.options.scopeVersion, records: events }),
    );
    const body = await gzip(json, { level: this.options.gzipLevel ?? 6 });
    return { body, json, unreadable, count: events.length };
  }

  async send(records: SpoolRecord[], signal: AbortSignal): Promise<SendOutcome> {
    const { body, unreadable, count } = await this.encode(records);
    if (!body) return { kind: 'delivered', unreadable };
    const credentials = await this.credentials();
    if (!credentials.ok)
      return this.scrubbed({ kind: 'retry', code: credentials.code, detail: credentials.detail }, []);
    const agent = this.agentFor(credentials);
    const outcome = await this.post(body, credentials.token, agent, signal);
    if (outcome.kind === 'delivered') {
      // The collector cannot reject more records than it was sent (issue 17, item 7).
      const rejected = Math.min(outcome.rejected ?? 0, count);
      return rejected > 0 ? { kind: 'delivered', rejected, unreadable } : { kind: 'delivered', unreadable };
    }
    return this.scrubbed(outcome, credentials.secrets);
  }

  /**
   * `agentctl doctor`: one real request to the collector that carries no record (an empty
   * ExportLogsServiceRequest, which OTLP/HTTP answers with success), so the URL, TLS and the
   * token are checked and nothing is sent. The agent is closed after it.
   */
  async probe(signal: AbortSignal): Promise<SendOutcome> {
    const credentials = await this.credentials();
    if (!credentials.ok)
      return this.scrubbed({ kind: 'retry', code: credentials.code, detail: credentials.detail }, []);
    try {
      const outcome = await this.post(
        await gzip('{"resourceLogs":[]}'),
        credentials.token,
        this.agentFor(credentials),
        signal,
      );
      return this.scrubbed(outcome, credentials.secrets);
    } finally {
      this.close();
    }
  }

  /**
   * The outcome with its detail made safe: printable, capped, and cut of every secret this
   * exporter knows, in any form the collector may echo it (collector-text.ts).
   */
  private scrubbed(outcome: SendOutcome, secrets: string[]): SendOutcome {
    if (outcome.kind === 'delivered' || outcome.detail === undefined) return outcome;
    const known = [...secrets];
    // The configured token too, even when the token file is what failed.
    if (this.options.bearerToken) known.push(this.options.bearerToken.trim());
    let forms: SecretForms | null = null;
    if (known.length > 0) {
      if (this.formsKey !== known.join('\n')) {
        this.formsKey = known.join('\n');
        this.forms = secretForms(known);
      }
      forms = this.forms;
    }
    return { ...outcome, detail: collectorText(outcome.detail, forms) };
  }

  close(): void {
    this.agent?.destroy();
    this.agent = null;
  }

  private async credentials(): Promise<Credentials> {
    const read = async (which: CredentialFile, file: string, secret: boolean) => {
      const r = await readProtectedFile(file, { secret, maxBytes: 256 << 10 });
      if (!r.ok)
        return {
          ok: false as const,
          code: `${which}_${r.code.replace(/^file_/, '')}` as TelemetryCode,
          detail: `${file}: ${r.reason}`,
        };
      return { ok: true as const, text: r.data.toString('utf8') };
    };
    let token: string | null = null;
    if (this.options.bearerTokenFile) {
      const r = await read('token_file', this.options.bearerTokenFile, true);
      if (!r.ok) return r;
      token = r.text.trim();
    } else if (this.options.bearerToken) {
      token = this.options.bearerToken.trim();
    }
    // Never echo the token: it is a secret even when malformed.
    if (token !== null && !tokenPattern.test(token))
      return {
        ok: false,
        code: 'bearer_token_invalid',
        detail: 'the bearer token has characters a token cannot have (RFC 6750)',
      };
    const tlsOptions: https.AgentOptions = {};
    if (this.options.caFile) {
      const r = await read('ca_file', this.options.caFile, false);
      if (!r.ok) return r;
      if (!/-----BEGIN CERTIFICATE-----/.test(r.text))
        return { ok: false, code: 'ca_file_invalid', detail: `${this.options.caFile}: no PEM certificate` };
      tlsOptions.ca = [...tls.rootCertificates, r.text];
    }
    if (this.options.clientCertificateFile && this.options.clientKeyFile) {
      const cert = await read('client_certificate', this.options.clientCertificateFile, false);
      if (!cert.ok) return cert;
      const key = await read('client_key', this.options.clientKeyFile, true);
      if (!key.ok) return key;
      tlsOptions.cert = cert.text;
      tlsOptions.key = key.text;
    }
    if (tlsOptions.ca || tlsOptions.cert) {
      try {
        tls.createSecureContext(tlsOptions);
      } catch (error) {
        const code = tlsOptions.cert ? 'client_certificate_invalid' : 'ca_file_invalid';
        return { ok: false, code, detail: (error as Error).message };
      }
    }
    const tlsKey = JSON.stringify([tlsOptions.ca?.at(-1) ?? null, tlsOptions.cert ?? null, tlsOptions.key ?? null]);
    const secrets = [
      ...(token ? [token] : []),
      ...pemSecretLines(typeof tlsOptions.key === 'string' ? tlsOptions.key : ''),
    ];
    return { ok: true, token, tlsKey, tlsOptions, secrets };
  }

  private agentFor(credentials: Extract<Credentials, { ok: true }>): http.Agent {
    if (this.agent && this.agentKey === credentials.tlsKey) return this.agent;
    this.agent?.destroy();
    const common = { keepAlive: true, maxSockets: 1, keepAliveMsecs: 10_000 };
    this.agent =
      this.endpoint.protocol === 'https:'
        ? new https.Agent({ ...common, ...credentials.tlsOptions })
        : new http.Agent(common);
    this.agentKey = credentials.tlsKey;
    return this.agent;
  }

  private post(body: Buffer, token: string | null, agent: http.Agent, signal: AbortSignal): Promise<SendOutcome> {
    const headers: http.OutgoingHttpHeaders = {
      'Content-Type': 'application/json',
      'Content-Encoding': 'gzip',
      'Content-Length': body.length,
      'User-Agent': this.options.userAgent,
    };
    if (token) headers.Authorization = `Bearer ${token}`;
    const client = this.endpoint.protocol === 'https:' ? https : http;
    return new Promise<SendOutcome>((resolve) => {
      let settled = false;
      const finish = (outcome: SendOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        resolve(outcome);
      };
      const req = client.request(this.endpoint, { method: 'POST', agent, headers });
      const timer = setTimeout(() => {
        finish({
          kind: 'retry',
          code: 'collector_timeout',
          detail: `no complete answer within ${this.options.timeoutMs} ms`,
        });
        req.destroy();
      }, this.options.timeoutMs);
      const onAbort = () => {
        finish({ kind: 'retry', code: 'collector_unreachable', detail: 'aborted: the agent is stopping' });
        req.destroy();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      req.on('error', (error: NodeJS.ErrnoException) => finish(classifyError(error)));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const answer = (cut: boolean) => {
          const outcome = classifyResponse(res.statusCode ?? 0, res.headers, Buffer.concat(chunks).toString('utf8'));
          if (cut && outcome.kind !== 'delivered')
            outcome.detail = (outcome.detail ?? '').replace(
              /^HTTP \d+/,
              (head) => `${head} (answer over ${RESPONSE_LIMIT >> 10} KiB, not read further)`,
            );
          return outcome;
        };
        res.on('data', (chunk: Buffer) => {
          if (settled) return;
          if (size + chunk.length <= RESPONSE_LIMIT) {
            size += chunk.length;
            chunks.push(chunk);
            return;
          }
          // Past what is kept, nothing more is read: the answer is judged on its status and
          // the first 64 KiB, and the connection is closed (issue 17, item 6).
          chunks.push(chunk.subarray(0, RESPONSE_LIMIT - size));
          size = RESPONSE_LIMIT;
          finish(answer(true));
          req.destroy();
        });
        res.on('error', (error: NodeJS.ErrnoException) => finish(classifyError(error)));
        res.on('end', () => finish(answer(false)));
      });
      req.end(body);
    });
  }
}

const tlsErrorPattern =
  /^(ERR_TLS|ERR_SSL|CERT_|UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO|HOSTNAME_MISMATCH|ERR_OSSL)|_CERT|ALTNAME/;

export function classifyError(error: NodeJS.ErrnoException): SendOutcome {
  const code = error.code ?? '';
  if (tlsErrorPattern.test(code) || /certificate|ssl|tls alert|handshake/i.test(error.message))
    return { kind: 'retry', code: 'collector_tls', detail: code || error.message };
  return { kind: 'retry', code: 'collector_unreachable', detail: code || error.message };
}

export function classifyResponse(
  status: number,
  headers: http.IncomingHttpHeaders,
  text: string,
  nowMs = Date.now(),
): SendOutcome {
  if (status >= 200 && status < 300) {
    let rejected = 0;
    try {
      const parsed = JSON.parse(text) as { partialSuccess?: { rejectedLogRecords?: string | number } };
      const n = Number(parsed?.partialSuccess?.rejectedLogRecords ?? 0);
      if (Number.isSafeInteger(n) && n > 0) rejected = n;
    } catch {
      // A 2xx is success whatever its body says.
    }
    return rejected > 0 ? { kind: 'delivered', rejected } : { kind: 'delivered' };
  }
  let detail = `HTTP ${status}`;
  try {
    const message = (JSON.parse(text) as { message?: unknown }).message;
    // Made printable and bounded here; cut of secrets by the exporter, which knows them.
    if (typeof message === 'string' && message) detail += `: ${collectorText(message, null)}`;
  } catch {
    // Not an OTLP Status body.
  }
  if (status === 429 || status === 502 || status === 503 || status === 504) {
    const retryAfterMs = parseRetryAfter(headerValue(headers['retry-after']), headerValue(headers.date), nowMs);
    const outcome: SendOutcome = {
      kind: 'retry',
      code: status === 429 ? 'collector_throttled' : 'collector_unavailable',
      status,
      detail,
    };
    if (retryAfterMs !== undefined) outcome.retryAfterMs = retryAfterMs;
    return outcome;
  }
  return { kind: 'dead_letter', code: status >= 500 ? 'collector_failed' : 'collector_rejected', status, detail };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
