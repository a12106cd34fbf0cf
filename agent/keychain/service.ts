// The keychain scrub inside agentd. The daemon never scrubs (keychains are per user); it:
//  - answers `keychain.report` on the read-only socket: each session files its result, under
//    the uid the kernel gives for the connection (desk.ts);
//  - shows the last result per user in the Keychain section of `agentctl status`;
//  - when TenantDomain changes, or (macOS) another user comes to the console, asks the console
//    user's session to scrub now (session.ts).
import type { Daemon } from '../daemon/daemon.js';
import { scrubSettings } from './config.js';
import { ReportDesk, type PeerUidSource } from './desk.js';
import { consoleUid, requestSessionScrub, type SessionRequestResult } from './session.js';
import { tenantTag } from './tag.js';

export interface KeychainServiceOptions {
  /** Where a report's uid comes from (default: the control server's peer credentials). */
  peerUid?: PeerUidSource;
  /** How the console user's session is asked to scrub (default: launchctl kickstart on macOS). */
  requestSession?: () => Promise<SessionRequestResult>;
  /** Watch the console user and ask each new one's session to scrub (default: on macOS). */
  watchConsole?: { intervalMs: number; consoleUid: () => Promise<number | null> } | null;
}

export type SessionRequestReason = 'tenant_changed' | 'console_user_changed';

export interface KeychainService {
  desk: ReportDesk;
  /** The last session request (after a TenantDomain change), or null. */
  lastSessionRequest(): (SessionRequestResult & { at: string; reason: SessionRequestReason }) | null;
}

export function attachKeychain(daemon: Daemon, options: KeychainServiceOptions = {}): KeychainService {
  const logger = daemon.logger.child('keychain');
  const currentTag = () => {
    const { tenant } = scrubSettings(daemon.config);
    return tenant ? tenantTag(tenant) : null;
  };
  const desk = new ReportDesk({
    logger,
    event: (event) => daemon.bus.event(event),
    stateDirectory: daemon.config.StateDirectory,
    currentTenantTag: currentTag,
    peerUid: options.peerUid,
  });
  let lastRequest: (SessionRequestResult & { at: string; reason: SessionRequestReason }) | null = null;

  daemon.control.handle('keychain.report', (args, context) => desk.file(args, context), { mutating: false });

  daemon.status.section('keychain', () => {
    const settings = scrubSettings(daemon.config);
    return {
      tenant_domain: settings.tenant || null,
      tenant_tag: currentTag(),
      mode: settings.mode,
      services: settings.services,
      scrub_untagged: settings.scrubUntagged,
      tag_attribute: settings.tagAttribute,
      users: desk.list().map((f) => ({
        uid: f.uid,
        received_at: f.received_at,
        trigger: f.report.trigger,
        mode: f.report.mode,
        tenant_tag: f.report.tenant_tag,
        current_tenant: f.current_tenant,
        skipped: f.report.skipped,
        scanned: f.report.scanned,
        deleted: f.report.deleted,
        would_delete: f.report.would_delete,
        kept: f.report.kept,
        errors: f.report.errors.map((e) => e.code),
        not_searched: f.report.not_searched,
        claimed_uid: f.claimed_uid,
      })),
      last_session_request: lastRequest,
      reports_refused: desk.refusals(),
      audit_dropped_for_uid: desk.auditDrops(),
    };
  });

  const ask = options.requestSession ?? (() => requestSessionScrub());
  const request = (reason: SessionRequestReason) => {
    const settings = scrubSettings(daemon.config);
    if (!settings.tenant || settings.services.length === 0) {
      logger.info('the scrub is not configured; no session asked', { reason, tenant_tag: currentTag() });
      return Promise.resolve();
    }
    return ask().then(
      (result) => {
        lastRequest = { ...result, reason, at: new Date().toISOString() };
        const fields = {
          reason,
          outcome: result.outcome,
          uid: result.uid,
          tenant_tag: currentTag(),
          ...(result.detail ? { detail: result.detail } : {}),
        };
        if (result.outcome === 'kickstart_failed') logger.error('the session scrub could not be started', fields);
        else logger.info('session scrub requested', fields);
        daemon.bus.event({
          name: 'keychain.session_requested',
          severity: result.outcome === 'kickstart_failed' ? 'error' : 'info',
          code: result.outcome,
          attributes: { reason, uid: result.uid, tenant_tag: currentTag() },
        });
      },
      (error: unknown) => logger.error('session scrub request failed', { reason, error: (error as Error).message }),
    );
  };
  daemon.on('config', ({ changed }) => {
    if (changed.includes('TenantDomain')) void request('tenant_changed');
  });
  const watch =
    options.watchConsole === undefined
      ? process.platform === 'darwin'
        ? { intervalMs: 10_000, consoleUid }
        : null
      : options.watchConsole;
  if (watch) {
    let last: number | null | undefined;
    daemon.scheduler.every('keychain-console', watch.intervalMs, async () => {
      const uid = await watch.consoleUid();
      // The first look only learns who is there: their agent ran at load (RunAtLoad).
      if (last !== undefined && uid !== null && uid !== last) await request('console_user_changed');
      last = uid;
    });
  }
  daemon.on('stopping', () => void desk.flush());
  return { desk, lastSessionRequest: () => lastRequest };
}
