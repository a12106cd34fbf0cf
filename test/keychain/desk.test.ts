// The daemon's report desk: filing under the connection's uid, bounds, rate limits, audits
// and persistence, called directly (the end-to-end path through agentd is in daemon.test.ts).
import test from 'ava';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AgentEvent } from '../../agent/daemon/bus.js';
import { ReportDesk, type DeskOptions } from '../../agent/keychain/desk.js';
import { reportLimits, summarize, type SessionReport } from '../../agent/keychain/report.js';
import type { ScrubReport } from '../../agent/keychain/scrub.js';
import { tenantTag } from '../../agent/keychain/tag.js';
import { RecordingLogger } from '../helpers/recording-logger.js';

const tagA = tenantTag('a.example.com');
const tagB = tenantTag('b.example.com');

function scrubReport(deleted: number, extra: Partial<ScrubReport> = {}): ScrubReport {
  return {
    tenant: 'a.example.com',
    tenant_tag: tagA,
    mode: 'enforce',
    services: ['S'],
    skipped: null,
    scanned: deleted + 2,
    deleted: Array.from({ length: deleted }, (_, i) => ({
      service: 'S',
      account: `user${i}`,
      tag: tagB,
      reason: 'other_tenant' as const,
    })),
    kept: 2,
    errors: [],
    not_searched: [],
    started_at: new Date(0).toISOString(),
    duration_ms: 12,
    ...extra,
  };
}

function desk(t: { teardown(f: () => void): void }, options: Partial<DeskOptions> = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tg-desk-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const logger = new RecordingLogger();
  const events: AgentEvent[] = [];
  const make = (more: Partial<DeskOptions> = {}) =>
    new ReportDesk({
      logger,
      event: (e) => events.push(e),
      stateDirectory: dir,
      currentTenantTag: () => tagA,
      ...options,
      ...more,
    });
  return { dir, logger, events, desk: make(), make };
}

const as = (uid: number | null) => ({ privileged: false, uid });

test('a report is filed under the uid of the connection, whatever uid it names', async (t) => {
  const { desk: d, logger } = desk(t);
  const report = { ...summarize(scrubReport(3), 'session'), uid: 0 };
  t.deepEqual(await d.file({ report }, as(65534)), { filed: true, uid: 65534 });
  const [filed] = d.list();
  t.like(filed, { uid: 65534, claimed_uid: 0, current_tenant: true });
  t.is(
    d.list().find((f) => f.uid === 0),
    undefined,
  );
  t.is(logger.matching('named another uid')[0]?.fields?.code, 'uid_mismatch');
  // Its own uid is fine, and replaces its previous report.
  t.deepEqual(await d.file({ report: { ...summarize(scrubReport(1), 'command'), uid: 65534 } }, as(65534)), {
    filed: true,
    uid: 65534,
  });
  t.is(d.list().length, 1);
  t.like(d.list()[0], { claimed_uid: null, report: { deleted: 1, trigger: 'command' } });
});

test('without the peer uid nothing is filed', async (t) => {
  const { desk: d } = desk(t);
  t.like(await d.file({ report: summarize(scrubReport(1), 'session') }, { privileged: false }), {
    filed: false,
    code: 'no_peer_uid',
  });
  t.like(await d.file({ report: summarize(scrubReport(1), 'session') }, as(null)), {
    filed: false,
    code: 'no_peer_uid',
  });
  t.deepEqual(d.list(), []);
});

test('a report is bounded: at most 32 entries, the counts exact; oversized or malformed ones are refused', async (t) => {
  const { desk: d } = desk(t, { burst: 100 });
  const big = summarize(scrubReport(500), 'session');
  t.is(big.entries.length, reportLimits.entries);
  t.is(big.deleted, 500);
  t.true(big.truncated);
  t.like(await d.file({ report: big }, as(501)), { filed: true });

  // Long names: the summary drops entries to fit; a hand-made report that does not fit is refused.
  const long = scrubReport(40);
  for (const e of long.deleted!) Object.assign(e, { service: 's'.repeat(300), account: 'a'.repeat(300) });
  const fitted = summarize(long, 'session');
  t.true(fitted.entries.length < reportLimits.entries && fitted.truncated);
  t.true(Buffer.byteLength(JSON.stringify({ report: fitted })) <= reportLimits.bytes);
  t.like(await d.file({ report: fitted }, as(504)), { filed: true });
  const padded = {
    ...big,
    entries: big.entries.map((e) => ({ ...e, service: 's'.repeat(256), account: 'a'.repeat(256) })),
  };
  t.like(await d.file({ report: padded }, as(502)), { filed: false, code: 'too_large' });
  const invalid: unknown[] = [
    { report: { ...big, extra: 1 } },
    { report: big, uid: 0 },
    { report: { ...big, entries: [...big.entries, big.entries[0]] } },
    { report: { ...big, tenant_tag: 'not a tag' } },
    { report: { ...big, mode: 'delete' } },
    { report: { ...big, deleted: -1 } },
    { report: { ...big, errors: [{ code: 'made_up' }] } },
    { report: null },
    {},
  ];
  for (const args of invalid)
    t.like(
      await d.file(args as Record<string, unknown>, as(503)),
      { filed: false, code: 'invalid_report' },
      JSON.stringify(args).slice(0, 80),
    );
  t.deepEqual(
    d.list().map((f) => f.uid),
    [504, 501],
  );
  t.like(d.refusals(), { too_large: 1, invalid_report: invalid.length });
});

test('each user may send a few reports in a burst, then one per refill period; others are not affected', async (t) => {
  let now = 1_000_000;
  const { desk: d } = desk(t, { burst: 3, refillSeconds: 10, now: () => now });
  const report = summarize(scrubReport(1), 'session');
  for (let i = 0; i < 3; i++) t.like(await d.file({ report }, as(501)), { filed: true });
  t.like(await d.file({ report }, as(501)), { filed: false, code: 'rate_limited' });
  t.like(await d.file({ report }, as(502)), { filed: true });
  now += 10_000;
  t.like(await d.file({ report }, as(501)), { filed: true });
  t.like(await d.file({ report }, as(501)), { filed: false, code: 'rate_limited' });
});

test('the desk keeps a bounded number of users, the most recent ones', async (t) => {
  const { desk: d } = desk(t, { maxUsers: 3 });
  for (const uid of [501, 502, 503, 504]) await d.file({ report: summarize(scrubReport(0), 'session') }, as(uid));
  t.deepEqual(
    d.list().map((f) => f.uid),
    [504, 503, 502],
  );
});

test('every reported deletion is audited in the log and as an audit event; nothing else is trusted', async (t) => {
  const { desk: d, logger, events } = desk(t);
  await d.file(
    { report: summarize(scrubReport(2, { errors: [{ code: 'delete_failed', message: 'x' }] }), 'session') },
    as(501),
  );
  const audits = events.filter((e) => e.name === 'keychain.scrub_audit');
  t.is(audits.length, 2);
  for (const e of audits) {
    t.true(e.audit);
    t.like(e.attributes, { uid: 501, outcome: 'deleted', service: 'S', tag: tagB, reason: 'other_tenant' });
  }
  const summary = events.find((e) => e.name === 'keychain.scrub_reported')!;
  t.like(summary, { severity: 'warn', code: 'delete_failed', audit: true });
  t.like(summary.attributes, { uid: 501, deleted: 2, failed: 1, current_tenant: true });
  t.is(logger.matching('keychain scrub audit: deleted').length, 2);
  // A report for another tenant than the configured one is marked so.
  await d.file({ report: { ...summarize(scrubReport(0), 'session'), tenant_tag: tagB } }, as(502));
  t.is(d.list()[0]!.current_tenant, false);
});

test('the last report per user survives a restart (state file), and a corrupt file is set aside', async (t) => {
  const { desk: d, make, dir } = desk(t);
  await d.file({ report: summarize(scrubReport(2), 'session') }, as(501));
  await d.flush();
  const again = make();
  t.like(again.list()[0], { uid: 501, report: { deleted: 2 } });
  const { writeFileSync, existsSync } = await import('node:fs');
  writeFileSync(path.join(dir, 'keychain-reports.json'), '{"version":1,"users":[{"uid":"root"}]}');
  const fresh = make();
  t.deepEqual(fresh.list(), []);
  t.true(existsSync(path.join(dir, 'keychain-reports.json.corrupt')));
});

test('property: any arguments are either filed or refused with a code, never thrown', async (t) => {
  const { desk: d } = desk(t, { burst: 1e9 });
  const good: SessionReport = summarize(scrubReport(1), 'session');
  const mutated = fc.record(
    Object.fromEntries(Object.entries(good).map(([k, v]) => [k, fc.oneof(fc.constant(v), fc.anything())])) as Record<
      string,
      fc.Arbitrary<unknown>
    >,
  );
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.dictionary(fc.string(), fc.anything()),
        mutated.map((report) => ({ report })),
      ),
      async (args) => {
        const result = await d.file(args as Record<string, unknown>, as(700));
        return result.filed === true || ['invalid_report', 'too_large'].includes(result.code);
      },
    ),
    { numRuns: 500 },
  );
  t.pass();
});
