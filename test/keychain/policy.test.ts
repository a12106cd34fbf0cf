// The scrub's decision, tag, failure codes and configuration, without a keychain.
import test from 'ava';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import type { KeychainItem } from '../../native/keychain.js';
import type { KeySpec } from '../../agent/config/key-spec.js';
import { keychainKeys, scrubSettings } from '../../agent/keychain/config.js';
import { decide, decideAll, type DecisionPolicy } from '../../agent/keychain/decide.js';
import { classifyFailure, keychainErrorCodes } from '../../agent/keychain/errors.js';
import { errorHints } from '../../agent/keychain/hints.js';
import { runScrub } from '../../agent/keychain/scrub.js';
import { silentLogger } from '../../agent/log/logger.js';
import { kickstartArgv, sessionAgentLabel } from '../../agent/keychain/session.js';
import { tagOf, tenantTag } from '../../agent/keychain/tag.js';
import { keychainView } from '../../agent/keychain/status-view.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const tagA = tenantTag('a.example.com');
const tagB = tenantTag('b.example.com');

let refs = 0;
function item(service: string, comment: string | null, extra: Partial<KeychainItem> = {}): KeychainItem {
  return {
    service,
    account: `acct${++refs}`,
    label: 'L',
    comment,
    created: 1,
    modified: 1,
    ref: `/ref/${refs}`,
    locked: false,
    ...extra,
  };
}

test('the tenant tag is the lowercase hex SHA-256 of the lowercase domain', (t) => {
  t.is(tenantTag('acme.okta.com'), sha('acme.okta.com'));
  t.is(tenantTag('ACME.Okta.COM'), sha('acme.okta.com'));
  t.regex(tenantTag('acme.okta.com'), /^[0-9a-f]{64}$/);
  t.throws(() => tenantTag('  '));
});

test('only a 64-digit hex value is a tag (case and spaces ignored); anything else is untagged', (t) => {
  t.is(tagOf(tagA), tagA);
  t.is(tagOf(` ${tagA.toUpperCase()} `), tagA);
  t.is(tagOf(null), null);
  t.is(tagOf(''), null);
  t.is(tagOf('my note about this login'), null);
  t.is(tagOf(tagA.slice(1)), null);
  t.is(tagOf(`${tagA}0`), null);
});

test('decide: other tenant deleted, current tenant kept, untagged kept unless ScrubUntagged, unlisted service kept', (t) => {
  const policy: DecisionPolicy = { tenantTag: tagA, services: ['S'], scrubUntagged: false, tagAttribute: 'comment' };
  t.like(decide(item('S', tagB), policy), { action: 'delete', reason: 'other_tenant', tag: tagB });
  t.like(decide(item('S', tagA), policy), { action: 'keep', reason: 'current_tenant', tag: tagA });
  t.like(decide(item('S', null), policy), { action: 'keep', reason: 'untagged', tag: null });
  t.like(decide(item('S', 'a note'), policy), { action: 'keep', reason: 'untagged', tag: null });
  t.like(decide(item('T', tagB), policy), { action: 'keep', reason: 'service_not_listed' });
  t.like(decide(item('S', null), { ...policy, scrubUntagged: true }), { action: 'delete', reason: 'untagged' });
  // The tag may live in the label instead.
  t.like(decide(item('S', tagA, { label: tagB }), { ...policy, tagAttribute: 'label' }), {
    action: 'delete',
    reason: 'other_tenant',
    tag: tagB,
  });
});

// Random item sets: any services (some listed, some not), any comments (current tag, other
// tags, junk, none), any policy.
const tags = fc.constantFrom(tagA, tagB, tenantTag('c.example.com'), tagA.toUpperCase());
const comment = fc.oneof(
  tags,
  fc.constant(null),
  fc.string({ maxLength: 70 }),
  fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), minLength: 63, maxLength: 65 }),
);
const itemArb = fc.record({
  service: fc.constantFrom('S', 'T', 'com.apple.account', 'S2', ''),
  account: fc.option(fc.string({ maxLength: 20 }), { nil: null }),
  label: fc.option(fc.oneof(tags, fc.string({ maxLength: 20 })), { nil: null }),
  comment,
  created: fc.constant(null),
  modified: fc.constant(null),
  ref: fc.uuid(),
  locked: fc.constant(false),
});
const policyArb = fc.record({
  tenantTag: fc.constantFrom(tagA, tagB),
  services: fc.subarray(['S', 'T', 'S2']),
  scrubUntagged: fc.boolean(),
  tagAttribute: fc.constantFrom('comment' as const, 'label' as const),
});

test('property: the scrub never deletes outside ScrubServices, never the current tenant, never untagged unless ScrubUntagged', (t) => {
  fc.assert(
    fc.property(fc.array(itemArb, { maxLength: 40 }), policyArb, (items, policy) => {
      const decisions = decideAll(items, policy);
      if (decisions.length !== items.length) return false;
      for (const d of decisions) {
        const tag = tagOf(d.item[policy.tagAttribute]);
        if (d.action !== 'delete') continue;
        if (!policy.services.includes(d.item.service)) return false;
        if (tag === policy.tenantTag) return false;
        if (tag === null && !policy.scrubUntagged) return false;
      }
      // And everything tagged for another tenant in a listed service is deleted.
      return decisions.every((d) => {
        const tag = tagOf(d.item[policy.tagAttribute]);
        const target = policy.services.includes(d.item.service) && tag !== null && tag !== policy.tenantTag;
        return !target || d.action === 'delete';
      });
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('a locked keychain is left alone and said so (keychain_locked); the items of the others are scrubbed', async (t) => {
  // The OS answers (native/keychain.h: locked per item) are data; what the scrub does with them
  // is the policy under test, so the backend here is a list in memory.
  const open = [item('S', tagB), item('S', tagA)];
  const inLocked = [item('S', tagB, { locked: true }), item('S', tagB, { locked: true })];
  const deleted: string[] = [];
  const report = await runScrub({
    tenant: 'a.example.com',
    services: ['S'],
    mode: 'enforce',
    scrubUntagged: false,
    tagAttribute: 'comment',
    accessGroups: [],
    logger: silentLogger,
    backend: {
      list: async () => [...open, ...inLocked],
      delete: async (ref: string) => {
        deleted.push(ref);
      },
    },
  });
  t.deepEqual(deleted, [open[0]!.ref]);
  t.deepEqual(
    report.errors.map((e) => e.code),
    ['keychain_locked'],
  );
  t.regex(report.errors[0]!.message, /^2 items are in a locked keychain; left alone$/);
  t.is(report.kept, 1);
  t.regex(errorHints.keychain_locked, /left alone/);
});

test('OS failures map onto closed codes, each with a hint', (t) => {
  const f = (stage: string, domain: string, code = 0) => classifyFailure({ stage, domain, code, message: '' });
  t.is(f('load', 'dlopen'), 'library_missing');
  t.is(f('connect', 'g-io-error-quark'), 'no_session');
  t.is(f('search', 'g-dbus-error-quark', 2), 'no_secret_service');
  t.is(f('open', 'g-dbus-error-quark', 19), 'not_found');
  t.is(f('search', 'g-dbus-error-quark', 19), 'search_failed');
  t.is(f('delete', 'secret-error', 2), 'keychain_locked');
  t.is(f('search', 'unsupported'), 'unsupported');
  t.is(f('search', 'OSStatus', -34018), 'missing_entitlement');
  t.is(f('search', 'OSStatus', -25308), 'keychain_locked');
  t.is(f('delete', 'OSStatus', -25300), 'not_found');
  t.is(f('search', 'OSStatus', -25300), 'search_failed');
  t.is(f('delete', 'OSStatus', -50), 'delete_failed');
  for (const code of keychainErrorCodes) t.truthy(errorHints[code]);
});

test('configuration keys: defaults are the safe ones, bad values are refused', (t) => {
  const defaults = Object.fromEntries(
    Object.entries(keychainKeys).map(([k, spec]) => [k, (spec as KeySpec).default('linux', false)]),
  );
  t.deepEqual(scrubSettings(defaults), {
    tenant: '',
    services: [],
    mode: 'dry-run',
    scrubUntagged: false,
    tagAttribute: 'comment',
    accessGroups: [],
  });
  const ok = (key: keyof typeof keychainKeys, value: unknown) => keychainKeys[key].schema.safeParse(value).success;
  t.true(ok('ScrubMode', 'enforce'));
  t.false(ok('ScrubMode', 'delete'));
  t.false(ok('TenantDomain', 'not a domain'));
  t.false(ok('ScrubServices', ['S', 'S']));
  t.false(ok('ScrubServices', ['']));
  t.true(ok('ScrubAccessGroups', ['ABCDE12345.com.example.sso']));
  t.false(ok('ScrubAccessGroups', ['com.example.sso']));
  t.false(ok('ScrubTagAttribute', 'secret'));
});

test('the session request is launchctl asuser … kickstart gui/<uid>/<our label>', (t) => {
  t.deepEqual(kickstartArgv(501), [
    '/bin/launchctl',
    'asuser',
    '501',
    '/bin/launchctl',
    'kickstart',
    `gui/501/${sessionAgentLabel}`,
  ]);
  t.false(sessionAgentLabel.startsWith('com.apple.'));
  t.throws(() => kickstartArgv(0));
  t.throws(() => kickstartArgv(-1));
});

test('the Keychain status view: one row per user, dry-run said so', (t) => {
  const view = keychainView({
    tenant_domain: 'a.example.com',
    mode: 'dry-run',
    services: ['S'],
    users: [
      {
        uid: 501,
        received_at: '2026-01-01T00:00:00Z',
        mode: 'dry-run',
        scanned: 10,
        would_delete: 3,
        kept: 7,
        errors: [],
        current_tenant: true,
        claimed_uid: null,
      },
    ],
    last_session_request: null,
  });
  t.is(view.tenant, 'a.example.com');
  const rows = view.last_scrub_per_user as Record<string, Record<string, unknown>>;
  t.like(rows['uid 501'], {
    reported_at: '2026-01-01T00:00:00Z',
    result: 'scanned 10, would delete 3 (dry-run), kept 7',
  });
  t.is(keychainView({ services: [] }).services, 'None configured (scrub disabled)');
});
