// One scrub run, in the user's session: list the items of ScrubServices (attributes only),
// decide each (decide.ts), audit every decision, and delete the other tenant's items in
// enforce mode. Safe to interrupt and re-run: nothing is deleted before the whole listing
// succeeded and was found readable, each deletion is one OS call, and an item already gone
// counts as deleted.
import { deleteItem, KeychainOSError, listGenericPasswords, type KeychainItem } from '../../native/keychain.js';
import type { Logger } from '../log/logger.js';
import type { ScrubMode, ScrubSettings } from './config.js';
import { decideAll, type Decision, type DecisionReason } from './decide.js';
import { classifyFailure, type KeychainErrorCode } from './errors.js';
import { tenantTag } from './tag.js';

/** The OS side of a scrub; the native keychain unless a caller passes another. */
export interface ScrubBackend {
  list(options: { services: string[]; accessGroup?: string }): Promise<KeychainItem[]>;
  delete(ref: string): Promise<void>;
}

export const nativeBackend: ScrubBackend = {
  list: (options) => listGenericPasswords(options),
  delete: (ref) => deleteItem(ref),
};

export interface ReportEntry {
  service: string;
  account: string | null;
  tag: string | null;
  reason: DecisionReason;
}

export interface ScrubError {
  code: KeychainErrorCode;
  /** The OS's own message (for logs and support), never a secret. */
  message: string;
  service?: string;
  account?: string | null;
  access_group?: string;
}

/** What happened to one item, as audited. */
export type AuditOutcome = 'kept' | 'would_delete' | 'deleting' | 'deleted' | 'already_gone' | 'delete_failed';

export interface AuditRecord {
  outcome: AuditOutcome;
  mode: ScrubMode;
  service: string;
  account: string | null;
  tag: string | null;
  reason: DecisionReason;
  code?: KeychainErrorCode;
}

export type SkipReason = 'no_tenant' | 'no_services';

/** The result of a run: `agentctl scrub --json` prints it; the session sends a summary to the daemon. */
export interface ScrubReport {
  tenant: string;
  tenant_tag: string | null;
  mode: ScrubMode;
  services: string[];
  /** Why nothing was looked at (the scrub is not configured), or null. */
  skipped: SkipReason | null;
  scanned: number;
  /** enforce mode: the items deleted (including those already gone). */
  deleted?: ReportEntry[];
  /** dry-run mode: the items enforce mode would delete. */
  would_delete?: ReportEntry[];
  kept: number;
  errors: ScrubError[];
  /** Data-protection access groups that could not be searched (not a failure of the scrub). */
  not_searched: Array<{ access_group: string; code: KeychainErrorCode }>;
  started_at: string;
  duration_ms: number;
}

export interface ScrubOptions extends ScrubSettings {
  logger: Logger;
  backend?: ScrubBackend;
  /** Called for every audited outcome, after it was logged. */
  audit?: (record: AuditRecord) => void;
}

const entryOf = (d: Decision): ReportEntry => ({
  service: d.item.service,
  account: d.item.account,
  tag: d.tag,
  reason: d.reason,
});

function osError(error: unknown, extra: Partial<ScrubError> = {}): ScrubError {
  if (error instanceof KeychainOSError)
    return { code: classifyFailure(error.failure), message: error.failure.message, ...extra };
  throw error;
}

export async function runScrub(options: ScrubOptions): Promise<ScrubReport> {
  const started = Date.now();
  const backend = options.backend ?? nativeBackend;
  const { logger, mode } = options;
  const services = [...new Set(options.services)];
  const report: ScrubReport = {
    tenant: options.tenant,
    tenant_tag: options.tenant ? tenantTag(options.tenant) : null,
    mode,
    services,
    skipped: null,
    scanned: 0,
    ...(mode === 'enforce' ? { deleted: [] } : { would_delete: [] }),
    kept: 0,
    errors: [],
    not_searched: [],
    started_at: new Date(started).toISOString(),
    duration_ms: 0,
  };
  const finish = () => {
    report.duration_ms = Date.now() - started;
    logger.info('keychain scrub finished', {
      mode,
      tenant_tag: report.tenant_tag,
      skipped: report.skipped,
      scanned: report.scanned,
      deleted: report.deleted?.length ?? null,
      would_delete: report.would_delete?.length ?? null,
      kept: report.kept,
      errors: report.errors.map((e) => e.code),
    });
    return report;
  };
  if (report.tenant_tag === null) {
    report.skipped = 'no_tenant';
    return finish();
  }
  if (services.length === 0) {
    report.skipped = 'no_services';
    return finish();
  }

  // 1. List everything first; any failure here stops the run before a single deletion.
  const items = new Map<string, KeychainItem>();
  try {
    for (const item of await backend.list({ services })) items.set(item.ref, item);
  } catch (error) {
    report.errors.push(osError(error));
  }
  for (const group of report.errors.length ? [] : options.accessGroups) {
    try {
      for (const item of await backend.list({ services, accessGroup: group })) items.set(item.ref, item);
    } catch (error) {
      const problem = osError(error, { access_group: group });
      // Without the entitlement macOS refuses the data-protection keychain: that part is not
      // searched, which is reported, and the rest of the scrub goes on.
      if (problem.code === 'missing_entitlement' || problem.code === 'unsupported') {
        report.not_searched.push({ access_group: group, code: problem.code });
        logger.warn('keychain scrub: data-protection keychain not searched', {
          access_group: group,
          code: problem.code,
        });
      } else {
        report.errors.push(problem);
      }
    }
  }
  report.scanned = items.size;
  if (report.errors.length) {
    for (const e of report.errors)
      logger.error('keychain scrub: cannot list the keychain; nothing deleted', { code: e.code, error: e.message });
    return finish();
  }
  // 2. Items in a locked keyring (Linux) or keychain (macOS) are left alone: their attributes
  // may be hidden, and deleting them would fail or prompt. That is said as an error (exit 1);
  // the items of the other keychains are scrubbed as usual.
  const locked = [...items.values()].filter((item) => item.locked);
  if (locked.length) {
    for (const item of locked) items.delete(item.ref);
    report.errors.push({
      code: 'keychain_locked',
      message: `${locked.length} item${locked.length === 1 ? ' is' : 's are'} in a locked keychain; left alone`,
    });
    logger.error('keychain scrub: items in a locked keychain left alone', {
      code: 'keychain_locked',
      locked_items: locked.length,
    });
  }

  // 3. Decide and audit every item, then act.
  const decisions = decideAll([...items.values()], {
    tenantTag: report.tenant_tag,
    services,
    scrubUntagged: options.scrubUntagged,
    tagAttribute: options.tagAttribute,
  });
  const audit = (record: AuditRecord) => {
    const fields = {
      service: record.service,
      account: record.account,
      tag: record.tag,
      reason: record.reason,
      outcome: record.outcome,
      mode,
      ...(record.code ? { code: record.code } : {}),
    };
    if (record.outcome === 'delete_failed') logger.error('keychain scrub: delete failed', fields);
    else logger.info(`keychain scrub: ${record.outcome.replace('_', ' ')}`, fields);
    options.audit?.(record);
  };
  const recordOf = (d: Decision, outcome: AuditOutcome, code?: KeychainErrorCode): AuditRecord => ({
    outcome,
    mode,
    ...entryOf(d),
    ...(code ? { code } : {}),
  });
  for (const d of decisions) {
    if (d.action === 'keep') {
      report.kept++;
      audit(recordOf(d, 'kept'));
      continue;
    }
    if (mode === 'dry-run') {
      report.would_delete!.push(entryOf(d));
      audit(recordOf(d, 'would_delete'));
      continue;
    }
    audit(recordOf(d, 'deleting'));
    try {
      await backend.delete(d.item.ref);
      report.deleted!.push(entryOf(d));
      audit(recordOf(d, 'deleted'));
    } catch (error) {
      const problem = osError(error, { service: d.item.service, account: d.item.account });
      if (problem.code === 'not_found') {
        report.deleted!.push(entryOf(d));
        audit(recordOf(d, 'already_gone'));
      } else {
        report.errors.push(problem);
        audit(recordOf(d, 'delete_failed', problem.code));
      }
    }
  }
  return finish();
}
