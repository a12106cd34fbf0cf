// Issue 20, acceptance 7: fast-check over association-file bodies, HTTP answers, discovery
// documents and command outputs: a verdict every time, never a crash, every code a known one.
import test from 'ava';
import fc from 'fast-check';
import { judgeAssociation, judgeCdn, type HttpAnswer } from '../../agent/sso/association.js';
import { judgeDiscovery } from '../../agent/sso/claims.js';
import { ssoCodes } from '../../agent/sso/codes.js';
import { platformSsoResult } from '../../agent/sso/doctor.js';
import { parseAppSsoPlatform, parseEntitlements, parsePluginkit, parseSwcutilShow } from '../../agent/sso/macos.js';

const team = 'UXP6YEHSPW';
const container = 'com.example.Scissors';
const known = new Set(Object.keys(ssoCodes));
const states = new Set(['ok', 'not_registered', 'incomplete', 'malformed']);

// Bodies near the real thing: JSON with authsrv/apps of varied shape, mutated, or anything at all.
const appId = fc.oneof(
  fc.constant(`${team}.${container}`),
  fc.constant(`ABCDE12345.${container}`),
  fc.constant(`${team}.com.example.Other`),
  fc.string({ maxLength: 40 }),
);
const jsonBody = fc.oneof(
  fc.record({ authsrv: fc.record({ apps: fc.array(appId, { maxLength: 5 }) }) }, { requiredKeys: [] }),
  fc.record({ authsrv: fc.anything() }),
  fc.jsonValue(),
);
const body = fc.oneof(
  jsonBody.map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
  fc.string({ maxLength: 300 }).map((s) => Buffer.from(s)),
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
  fc.constant(Buffer.from('<!DOCTYPE html><html></html>')),
);
const answer: fc.Arbitrary<HttpAnswer> = fc.record({
  status: fc.oneof(fc.constant(200), fc.constant(404), fc.constant(301), fc.integer({ min: 0, max: 999 })),
  headers: fc.record(
    {
      'content-type': fc.oneof(fc.constant('application/json'), fc.constant('text/html'), fc.string({ maxLength: 30 })),
      location: fc.string({ maxLength: 50 }),
    },
    { requiredKeys: [] },
  ),
  body,
  truncated: fc.boolean(),
});

test('judgeAssociation and judgeCdn give a known code for any answer, and ok only for a 200 JSON listing the app', (t) => {
  fc.assert(
    fc.property(answer, answer, (host, cdn) => {
      const v = judgeAssociation(host, team, container);
      if (!known.has(v.code) || typeof v.detail !== 'string' || v.detail.length > 2000) return false;
      if (
        v.code === 'ok' &&
        (host.status !== 200 || host.truncated || !host.body.toString().includes(`${team}.${container}`))
      )
        return false;
      let parsed: Record<string, unknown> | null = null;
      try {
        const p: unknown = JSON.parse(host.body.toString());
        if (p && typeof p === 'object' && !Array.isArray(p)) parsed = p as Record<string, unknown>;
      } catch {
        /* none */
      }
      const c = judgeCdn(cdn, parsed ? { file: parsed, lastModified: null } : null, team, container);
      return known.has(c.code) && (c.code !== 'ok' || cdn.status === 200);
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('judgeDiscovery gives a known code for any document', (t) => {
  const doc = fc.oneof(
    fc.record(
      {
        issuer: fc.oneof(fc.string(), fc.integer()),
        claims_supported: fc.oneof(fc.array(fc.string({ maxLength: 20 })), fc.anything()),
      },
      { requiredKeys: [] },
    ),
    fc.jsonValue(),
  );
  fc.assert(
    fc.property(
      doc,
      fc.array(fc.string({ maxLength: 20 }), { maxLength: 4 }),
      fc.integer({ min: 0, max: 600 }),
      (d, claims, status) => {
        const v = judgeDiscovery(
          { status, headers: {}, body: Buffer.from(JSON.stringify(d) ?? ''), truncated: false },
          claims,
        );
        return (
          known.has(v.code) && ['ok', 'claims_unsupported', 'claims_unlisted', 'discovery_invalid'].includes(v.code)
        );
      },
    ),
    { numRuns: 1000 },
  );
  t.pass();
});

// Command outputs: real-looking lines, mutated, and arbitrary text.
const pluginLine = fc
  .tuple(
    fc.constantFrom('+', '-', '!', '=', '?', ' ', ''),
    fc.constantFrom('com.example.Scissors.ssoe', 'x', ''),
    fc.string({ maxLength: 12 }),
    fc.string({ maxLength: 60 }),
  )
  .map(([e, id, v, rest]) => `${e}    ${id}(${v})\t${rest}`);
const swcBlock = fc
  .tuple(
    fc.constantFrom('authsrv', 'applinks', ''),
    fc.constantFrom('idp.example.com', 'idp.example.com?mode=developer', ''),
    fc.constantFrom('approved', 'denied', 'unspecified', ''),
    fc.boolean(),
  )
  .map(
    ([s, d, a, flag]) =>
      `Service: ${s}\nDomain: ${d}\n${a ? `Site/Fmwk Approval: ${a}\n` : ''}${flag ? 'Flags: enterpriseManaged\n' : ''}----------------------------------------`,
  );
const sections = fc
  .array(
    fc.tuple(
      fc.constantFrom('Device Configuration:', 'User Configuration:', 'Login Configuration:', 'SSO Tokens:'),
      fc.oneof(
        fc.constant(' (null)'),
        fc.jsonValue().map((v) => JSON.stringify(v, null, 2)),
        fc.string({ maxLength: 80 }),
      ),
    ),
    { maxLength: 5 },
  )
  .map((parts) => parts.map(([h, b]) => `${h}\n${b}`).join('\n\n'));
const text = (structured: fc.Arbitrary<string>) =>
  fc.oneof(
    structured,
    fc.array(structured, { maxLength: 4 }).map((l) => l.join('\n')),
    fc.string({ maxLength: 400 }),
    fc.string({ unit: 'binary', maxLength: 200 }),
  );

test('every parser gives one of its states for any output, never throws, and the Platform SSO verdict is a known code', (t) => {
  fc.assert(
    fc.property(
      text(pluginLine),
      text(swcBlock),
      text(sections),
      text(
        fc.constantFrom(
          '[Dict]',
          '\t[Key] com.apple.developer.associated-domains',
          '\t[Value]',
          '\t\t[Array]',
          '\t\t\t[String] authsrv:idp.example.com',
          '<plist version="1.0"><dict>',
        ),
      ),
      (p, s, a, c) => {
        const results = [
          parsePluginkit(p, 'com.example.Scissors.ssoe'),
          parseSwcutilShow(s, 'idp.example.com'),
          parseAppSsoPlatform(a),
          parseEntitlements(c),
        ];
        if (!results.every((r) => states.has(r.state))) return false;
        const verdict = platformSsoResult(parseAppSsoPlatform(a), 0);
        return known.has(verdict.code) && (verdict.code !== 'ok' || /registrationCompleted/.test(a));
      },
    ),
    { numRuns: 1500 },
  );
  t.pass();
});
