// The daemon's report desk: files each session's scrub report under the uid the kernel gives
// for the connection (never a uid the report names), keeps the last report per user (bounded,
// persisted in the state directory), rate-limits each user, and audits what was reported in
// the log (and its audit file) and as telemetry events.
//
// A local user must not be able to flood the log or the telemetry spool through this desk
// (issue 17 items 9 and 10): refusals are logged at most `refusalLogLimit` times per uid per
// `refusalLogWindowMs` (the rest are counted, and the count is logged with the uid's first
// refusal after the window), and each uid adds at most `auditRecordsPerWindow` audit records (a
// log line and its event) per `auditWindowMs`; the rest are dropped and counted as
// dropped-for-uid (status, and a `keychain.audit_dropped` event with the uid's first audit
// record after the window).
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
  /** Refusals logged per uid per window (the rest are counted). */
  refusalLogLimit?: number;
  refusalLogWindowMs?: number;
  /** Audit records (log line + event) one uid may add per window (the rest are dropped-for-uid). */
  auditRecordsPerWindow?: number;
  auditWindowMs?: number;
  now?: () => number;
}

/** A per-uid count over a fixed window that starts with the uid's first use. */
interface Window {
  start: number;
  used: number;
  /** Beyond the limit in this window (not logged, or dropped). */
  over: number;
}

export const deskLimits = {
  refusalLogLimit: 5,
  refusalLogWindowMs: 60_000,
  // A maximal report is 33 records (its summary and 32 entries): three an hour, for each user.
  auditRecordsPerWindow: 100,
  auditWindowMs: 3_600_000,
} as const;

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
  private readonly refusalLog = new Map<number, Window>();
  private readonly auditUse = new Map<number, Window>();
  /** Audit records dropped per uid (over auditRecordsPerWindow), since the daemon started. */
  private readonly auditDropped = new Map<number, number>();
  private auditDroppedTotal = 0;
  private readonly limits: {
    refusalLogLimit: number;
    refusalLogWindowMs: number;
    auditRecordsPerWindow: number;
    auditWindowMs: number;
  };

  constructor(private readonly options: DeskOptions) {
    this.maxUsers = options.maxUsers ?? 256;
    this.burst = options.burst ?? 6;
    this.refillMs = (options.refillSeconds ?? 10) * 1000;
    this.now = options.now ?? Date.now;
    this.peerUid = options.peerUid ?? contextPeerUid;
    this.limits = {
      refusalLogLimit: options.refusalLogLimit ?? deskLimits.refusalLogLimit,
      refusalLogWindowMs: options.refusalLogWindowMs ?? deskLimits.refusalLogWindowMs,
      auditRecordsPerWindow: options.auditRecordsPerWindow ?? deskLimits.auditRecordsPerWindow,
      auditWindowMs: options.auditWindowMs ?? deskLimits.auditWindowMs,
    };
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

  /** Audit records dropped because their uid was over its budget: the total and per uid. */
  auditDrops(): { total: number; by_uid: Array<{ uid: number; dropped: number }> } {
    return {
      total: this.auditDroppedTotal,
      by_uid: [...this.auditDropped].map(([uid, dropped]) => ({ uid, dropped })),
    };
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

  /**
   * Counts one use of `uid`'s window in `windows`: true while within `limit`. When a new window
   * opens after one that went over, `onOver(count)` gets how many went over in it.
   */
  private within(
    windows: Map<number, Window>,
    uid: number,
    limit: number,
    windowMs: number,
    onOver: (over: number) => void,
  ): boolean {
    const now = this.now();
    let window = windows.get(uid);
    if (!window || now - window.start >= windowMs || now < window.start) {
      if (window && window.over > 0) onOver(window.over);
      window = { start: now, used: 0, over: 0 };
      windows.delete(uid);
      windows.set(uid, window);
      if (windows.size > this.maxUsers * 4) windows.delete(windows.keys().next().value!);
    }
    if (window.used < limit) {
      window.used++;
      return true;
    }
    window.over++;
    return false;
  }

  private refuse(uid: number | null, code: RefusalCode, message: string): FileResult {
    this.refused[code]++;
    const { logger } = this.options;
    const { refusalLogLimit, refusalLogWindowMs } = this.limits;
    // Logged without the report's content: a refused report is untrusted input. At most
    // refusalLogLimit lines per uid per window: a user's flood must not rotate the log away.
    const logged = this.within(this.refusalLog, uid ?? -1, refusalLogLimit, refusalLogWindowMs, (over) =>
      logger.warn('keychain reports refused and not logged', {
        uid,
        count: over,
        window_s: refusalLogWindowMs / 1000,
        code: 'refusals_not_logged',
      }),
    );
    if (logged) logger.warn('keychain report refused', { uid, code });
    return { filed: false, code, message };
  }

  /** True when `uid` may add one more audit record now; else it is counted as dropped-for-uid. */
  private auditAllowed(uid: number): boolean {
    const { logger, event } = this.options;
    const { auditRecordsPerWindow, auditWindowMs } = this.limits;
    const allowed = this.within(this.auditUse, uid, auditRecordsPerWindow, auditWindowMs, (over) => {
      // The previous window's count, once, as an audit record of its own (not counted against the budget).
      const fields = { uid, dropped: over, window_s: auditWindowMs / 1000, code: 'audit_dropped_for_uid' };
      logger.warn('keychain audit records dropped for uid', { ...fields, audit: true });
      event({
        name: 'keychain.audit_dropped',
        severity: 'warn',
        code: 'audit_dropped_for_uid',
        attributes: { uid, dropped: over, window_s: auditWindowMs / 1000 },
        audit: true,
      });
    });
    if (allowed) return true;
    if (!this.auditDropped.has(uid) && this.auditDropped.size >= this.maxUsers * 4)
      this.auditDropped.delete(this.auditDropped.keys().next().value!);
    this.auditDropped.set(uid, (this.auditDropped.get(uid) ?? 0) + 1);
    this.auditDroppedTotal++;
    if (this.auditUse.get(uid)?.over === 1)
      logger.warn('keychain audit records over the per-user budget; the rest of this window are dropped', {
        uid,
        limit: auditRecordsPerWindow,
        window_s: auditWindowMs / 1000,
        code: 'audit_dropped_for_uid',
      });
    return false;
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
    // Audit lines carry `audit: true`: they also go to the audit log file (agent/log/winston.ts).
    if (this.auditAllowed(uid)) {
      logger.info('keychain scrub reported', { ...summary, errors: report.errors.map((e) => e.code), audit: true });
      event({
        name: 'keychain.scrub_reported',
        severity: report.errors.length ? 'warn' : 'info',
        ...(report.errors[0] ? { code: report.errors[0].code } : {}),
        attributes: { ...summary, errors: report.errors.map((e) => e.code), claimed_uid: filed.claimed_uid },
        audit: true,
      });
    }
    const outcome = report.mode === 'enforce' ? 'deleted' : 'would_delete';
    for (const entry of report.entries) {
      if (!this.auditAllowed(uid)) continue;
      const fields = {
        uid,
        outcome,
        service: entry.service,
        account: entry.account,
        tag: entry.tag,
        reason: entry.reason,
      };
      logger.info(`keychain scrub audit: ${outcome.replace('_', ' ')}`, { ...fields, audit: true });
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
