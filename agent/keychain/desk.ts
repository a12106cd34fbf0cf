// The daemon's report desk: files each session's scrub report under the uid the kernel gives
// for the connection (never a uid the report names), keeps the last report per user (bounded,
// persisted in the state directory), rate-limits each user, and audits what was reported in
// the log and as telemetry events.
import * as z from 'zod/mini';
import type { AgentEvent } from '../daemon/bus.js';
import type { Logger } from '../log/logger.js';
import { StateFile } from '../state/state-file.js';
import { parseReportArgs, reportSchema, type ReportProblem, type SessionReport } from './report.js';

/** Where the caller's uid comes from: the control server's peer credentials. */
export type PeerUidSource = (context: object) => number | null;

/**
 * The uid the control server read from the connection's peer credentials (SO_PEERCRED /
 * getpeereid; `RequestContext.uid`, issue 8). null when the server does not provide it.
 */
export const contextPeerUid: PeerUidSource = (context) => {
  const uid = (context as { uid?: unknown }).uid;
  return typeof uid === 'number' && Number.isInteger(uid) && uid >= 0 ? uid : null;
};

export type RefusalCode = ReportProblem | 'rate_limited' | 'no_peer_uid';

export type FileResult = { filed: true; uid: number } | { filed: false; code: RefusalCode; message: string };

export interface FiledReport {
  uid: number;
  received_at: string;
  /** The report named another uid than the connection's: it is filed under the connection's. */
  claimed_uid: number | null;
  /** The report's tenant tag is the daemon's current TenantDomain's. */
  current_tenant: boolean | null;
  report: SessionReport;
}

const filedSchema = z.object({
  uid: z.int().check(z.nonnegative()),
  received_at: z.string(),
  claimed_uid: z.nullable(z.int().check(z.nonnegative())),
  current_tenant: z.nullable(z.boolean()),
  report: reportSchema,
});
const persistedSchema = z.object({ version: z.literal(1), users: z.array(filedSchema) });
type Persisted = z.infer<typeof persistedSchema>;

export const reportsStateFile = 'keychain-reports.json';

export interface DeskOptions {
  logger: Logger;
  /** Where telemetry events go (daemon.bus.event). */
  event: (event: AgentEvent) => void;
  /** The state directory; null keeps reports in memory only. */
  stateDirectory: string | null;
  /** The current tenant tag (from TenantDomain), read at filing time. */
  currentTenantTag: () => string | null;
  peerUid?: PeerUidSource;
  /** Users kept (the least recently reporting is forgotten first). */
  maxUsers?: number;
  /** Reports a user may send in a burst, and the seconds after which one more is allowed. */
  burst?: number;
  refillSeconds?: number;
  now?: () => number;
}

export class ReportDesk {
  private readonly users = new Map<number, FiledReport>();
  private readonly buckets = new Map<number, { tokens: number; at: number }>();
  private readonly refused: Record<RefusalCode, number> = {
    too_large: 0,
    invalid_report: 0,
    rate_limited: 0,
    no_peer_uid: 0,
  };
  private readonly store: StateFile<Persisted> | null;
  private writing: Promise<void> = Promise.resolve();
  private readonly maxUsers: number;
  private readonly burst: number;
  private readonly refillMs: number;
  private readonly now: () => number;
  private readonly peerUid: PeerUidSource;

  constructor(private readonly options: DeskOptions) {
    this.maxUsers = options.maxUsers ?? 256;
    this.burst = options.burst ?? 6;
    this.refillMs = (options.refillSeconds ?? 10) * 1000;
    this.now = options.now ?? Date.now;
    this.peerUid = options.peerUid ?? contextPeerUid;
    this.store = options.stateDirectory
      ? new StateFile(options.stateDirectory, reportsStateFile, persistedSchema)
      : null;
    const saved = this.store?.read();
    if (saved?.status === 'ok')
      for (const filed of saved.value.users.slice(-this.maxUsers)) this.users.set(filed.uid, filed);
    else if (saved && saved.status !== 'missing')
      options.logger.warn('keychain reports state unreadable; starting empty', {
        status: saved.status,
        reason: saved.reason,
      });
  }

  /** The control request handler: `keychain.report` on the read-only socket. */
  async file(args: Record<string, unknown>, context: object): Promise<FileResult> {
    const uid = this.peerUid(context);
    if (uid === null)
      return this.refuse(null, 'no_peer_uid', 'the daemon cannot tell who sent the report (no peer credentials)');
    if (!this.take(uid))
      return this.refuse(
        uid,
        'rate_limited',
        `too many reports from uid ${uid}; try again in ${Math.ceil(this.refillMs / 1000)} s`,
      );
    const parsed = parseReportArgs(args);
    if ('problem' in parsed) return this.refuse(uid, parsed.problem, parsed.detail);
    const { uid: claimed, ...report } = parsed.report;
    const tenantTag = this.options.currentTenantTag();
    const filed: FiledReport = {
      uid,
      received_at: new Date(this.now()).toISOString(),
      claimed_uid: claimed !== undefined && claimed !== uid ? claimed : null,
      current_tenant: report.tenant_tag === null || tenantTag === null ? null : report.tenant_tag === tenantTag,
      report,
    };
    this.users.delete(uid);
    this.users.set(uid, filed);
    while (this.users.size > this.maxUsers) this.users.delete(this.users.keys().next().value!);
    this.audit(filed);
    await this.persist();
    return { filed: true, uid };
  }

  /** The last report of each user, most recent first. */
  list(): FiledReport[] {
    return [...this.users.values()].reverse();
  }

  refusals(): Record<RefusalCode, number> {
    return { ...this.refused };
  }

  /** Waits for the last state write (tests, shutdown). */
  flush(): Promise<void> {
    return this.writing;
  }

  private take(uid: number): boolean {
    const now = this.now();
    const bucket = this.buckets.get(uid) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + (now - bucket.at) / this.refillMs);
    bucket.at = now;
    this.buckets.set(uid, bucket);
    if (this.buckets.size > this.maxUsers * 4) this.buckets.delete(this.buckets.keys().next().value!);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  private refuse(uid: number | null, code: RefusalCode, message: string): FileResult {
    this.refused[code]++;
    // Logged without the report's content: a refused report is untrusted input.
    this.options.logger.warn('keychain report refused', { uid, code });
    return { filed: false, code, message };
  }

  private audit(filed: FiledReport): void {
    const { uid, report } = filed;
    const { logger, event } = this.options;
    const summary = {
      uid,
      trigger: report.trigger,
      mode: report.mode,
      tenant_tag: report.tenant_tag,
      current_tenant: filed.current_tenant,
      skipped: report.skipped,
      scanned: report.scanned,
      deleted: report.deleted,
      would_delete: report.would_delete,
      kept: report.kept,
      failed: report.failed,
      truncated: report.truncated,
    };
    if (filed.claimed_uid !== null)
      logger.warn('keychain report named another uid; filed under the sender', {
        uid,
        claimed_uid: filed.claimed_uid,
        code: 'uid_mismatch',
      });
    logger.info('keychain scrub reported', { ...summary, errors: report.errors.map((e) => e.code) });
    event({
      name: 'keychain.scrub_reported',
      severity: report.errors.length ? 'warn' : 'info',
      ...(report.errors[0] ? { code: report.errors[0].code } : {}),
      attributes: { ...summary, errors: report.errors.map((e) => e.code), claimed_uid: filed.claimed_uid },
      audit: true,
    });
    const outcome = report.mode === 'enforce' ? 'deleted' : 'would_delete';
    for (const entry of report.entries) {
      const fields = {
        uid,
        outcome,
        service: entry.service,
        account: entry.account,
        tag: entry.tag,
        reason: entry.reason,
      };
      logger.info(`keychain scrub audit: ${outcome.replace('_', ' ')}`, fields);
      event({ name: 'keychain.scrub_audit', severity: 'info', code: entry.reason, attributes: fields, audit: true });
    }
  }

  private persist(): Promise<void> {
    const store = this.store;
    if (!store) return Promise.resolve();
    // Writes are queued so that the file always ends with the latest map.
    this.writing = this.writing
      .then(() => store.write({ version: 1, users: [...this.users.values()] }))
      .catch((error: unknown) =>
        this.options.logger.error('keychain reports state not written', { error: (error as Error).message }),
      );
    return this.writing;
  }
}
