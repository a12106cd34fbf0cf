// NTS-KE (agent/clock/nts-ke.ts) against a hostile test server of our own (node:tls on loopback,
// openssl-made certificates): every failure has its code, and junk never crashes the client.
// The happy path against chronyd's real NTS-KE server is in nts-chrony.test.ts.
import test from 'ava';
import fc from 'fast-check';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isCode, ntsKeCodes } from '../../agent/clock/codes.js';
import { exporterContext, NtsKeError, parseResponse, performNtsKe, splitRecords } from '../../agent/clock/nts-ke.js';
import { NtsSource } from '../../agent/clock/nts-source.js';
import { serverTimeChainVerifier } from '../../agent/trust/verify-chain.js';
import { goodResponse, record, startHostileNtsKeServer, u16 } from '../helpers/hostile-nts-ke-server.js';
import { missing } from '../helpers/system.js';
import { TestPki, type Leaf } from '../helpers/tls.js';

const absent = missing('openssl');
const it = absent ? test.skip : test;
const needs = absent ? ` [needs openssl] (missing: ${absent})` : '';

let pki: TestPki;
let leaf: Leaf;
let otherPki: TestPki;
test.before(async () => {
  if (absent) return;
  pki = await TestPki.create();
  leaf = await pki.issueLeaf();
  otherPki = await TestPki.create({ rootName: 'Someone Else Root CA' });
});
test.after.always(async () => {
  await pki?.cleanup();
  await otherPki?.cleanup();
});

function codeOf(error: unknown): string {
  return error instanceof NtsKeError ? error.code : `not an NtsKeError: ${(error as Error)?.message}`;
}

async function keAgainst(respond: Buffer | null, extra: { alpn?: string[]; timeoutMs?: number; cert?: Leaf } = {}) {
  const server = await startHostileNtsKeServer({ certificate: extra.cert ?? leaf, respond, alpn: extra.alpn });
  try {
    return await performNtsKe({
      host: server.host,
      port: server.port,
      ca: [pki.root.certPem],
      timeoutMs: extra.timeoutMs ?? 3000,
    });
  } finally {
    await server.stop();
  }
}

test('the exporter context is protocol 0x0000, AEAD 15, then 0x00 (C2S) or 0x01 (S2C) (RFC 8915 §5.1)', (t) => {
  t.deepEqual(exporterContext('c2s'), Buffer.from([0, 0, 0, 15, 0]));
  t.deepEqual(exporterContext('s2c'), Buffer.from([0, 0, 0, 15, 1]));
});

test('records: incomplete until End of Message; bytes after it, or an End with a body, are malformed', (t) => {
  t.is(splitRecords(Buffer.concat([record(1, u16(0))])), null);
  t.is(splitRecords(record(1, u16(0)).subarray(0, 5)), null);
  t.throws(() => splitRecords(Buffer.concat([record(0), Buffer.from([1])])), { instanceOf: NtsKeError });
  t.throws(() => splitRecords(record(0, [1, 2])), { instanceOf: NtsKeError });
  const parsed = parseResponse(splitRecords(goodResponse(1234))!);
  t.is(parsed.cookies.length, 8);
  t.is(parsed.port, 1234);
  t.is(parsed.server, null);
});

test('records: unknown critical → error, unknown non-critical skipped, server errors and bad negotiation have codes', (t) => {
  const parse = (...records: Buffer[]) => {
    try {
      parseResponse(splitRecords(Buffer.concat([...records, record(0)]))!);
      return 'ok';
    } catch (error) {
      return codeOf(error);
    }
  };
  const base = [record(1, u16(0)), record(4, u16(15)), record(5, [1, 2, 3], false)];
  t.is(parse(...base), 'ok');
  t.is(parse(...base, record(0x1234, [9], false)), 'ok');
  t.is(parse(...base, record(0x1234, [9], true)), 'nts_ke_unknown_critical');
  t.is(parse(record(2, u16(1))), 'nts_ke_server_error');
  t.is(parse(record(1, u16(0)), record(4, u16(30)), record(5, [1], false)), 'nts_ke_aead_unsupported');
  t.is(parse(record(1, u16(1)), record(4, u16(15)), record(5, [1], false)), 'nts_ke_protocol_unsupported');
  t.is(parse(record(1, u16(0)), record(4, u16(15))), 'nts_ke_no_cookies');
  t.is(parse(...base, record(6, Buffer.from('bad host/name'))), 'nts_ke_server_invalid');
  t.is(parse(...base, record(7, u16(0))), 'nts_ke_server_invalid');
  t.is(parse(...base, record(7, [1])), 'nts_ke_malformed');
  t.is(parse(...base, record(5, Buffer.alloc(2000), false)), 'nts_ke_malformed');
});

test('property: any bytes as a response are split and parsed without a crash: a response, or an NtsKeError', (t) => {
  const piece = fc.oneof(
    fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
    fc
      .record({ type: fc.integer({ min: 0, max: 9 }), critical: fc.boolean(), body: fc.uint8Array({ maxLength: 24 }) })
      .map((r) => record(r.type, Buffer.from(r.body), r.critical)),
  );
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
      try {
        const records = splitRecords(Buffer.concat(pieces));
        if (records) parseResponse(records);
        return true;
      } catch (error) {
        return error instanceof NtsKeError && isCode(ntsKeCodes, error.code);
      }
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

it(`a well-formed response gives keys, eight cookies and the NTP port${needs}`, async (t) => {
  const result = await keAgainst(goodResponse(4321));
  t.is(result.cookies.length, 8);
  t.is(result.port, 4321);
  t.is(result.c2s.length, 32);
  t.is(result.s2c.length, 32);
  t.false(result.c2s.equals(result.s2c));
  t.true(result.chain.length >= 1);
});

it(`unknown critical record → nts_ke_unknown_critical${needs}`, async (t) => {
  const respond = Buffer.concat([
    record(1, u16(0)),
    record(4, u16(15)),
    record(5, [1], false),
    record(0x2222, [0]),
    record(0),
  ]);
  t.is(codeOf(await t.throwsAsync(keAgainst(respond))), 'nts_ke_unknown_critical');
});

it(`unsupported AEAD → nts_ke_aead_unsupported${needs}`, async (t) => {
  const respond = Buffer.concat([record(1, u16(0)), record(4, u16(30)), record(5, [1], false), record(0)]);
  t.is(codeOf(await t.throwsAsync(keAgainst(respond))), 'nts_ke_aead_unsupported');
});

it(`a server that never answers → nts_ke_timeout at the deadline${needs}`, async (t) => {
  t.is(codeOf(await t.throwsAsync(keAgainst(null, { timeoutMs: 300 }))), 'nts_ke_timeout');
});

it(`a server that closes before End of Message → nts_ke_malformed${needs}`, async (t) => {
  t.is(codeOf(await t.throwsAsync(keAgainst(record(1, u16(0))))), 'nts_ke_malformed');
});

it(`no ntske/1: a server offering another ALPN, or none → nts_ke_no_alpn${needs}`, async (t) => {
  t.is(codeOf(await t.throwsAsync(keAgainst(goodResponse(1), { alpn: ['http/1.1'] }))), 'nts_ke_no_alpn');
  t.is(codeOf(await t.throwsAsync(keAgainst(goodResponse(1), { alpn: [] }))), 'nts_ke_no_alpn');
});

it(`a certificate for another name → nts_ke_name_mismatch${needs}`, async (t) => {
  const other = await pki.issueLeaf({ commonName: 'other.example', sans: ['DNS:other.example'] });
  t.is(codeOf(await t.throwsAsync(keAgainst(goodResponse(1), { cert: other }))), 'nts_ke_name_mismatch');
  // Also when the chain is left to the trust capability: the name is checked at once.
  const server = await startHostileNtsKeServer({ certificate: other, respond: goodResponse(9) });
  t.teardown(() => server.stop());
  const source = new NtsSource({
    host: server.host,
    port: server.port,
    samples: 1,
    timeoutMs: 200,
    verifyChain: serverTimeChainVerifier({ caFile: pki.caFile }),
  });
  const m = await source.measure();
  t.false(m.ok);
  if (!m.ok) t.is(m.code, 'nts_ke_name_mismatch');
});

it(`a chain the trust capability does not trust → nts_ke_untrusted, and nothing measured${needs}`, async (t) => {
  const server = await startHostileNtsKeServer({ certificate: leaf, respond: goodResponse(9) });
  t.teardown(() => server.stop());
  const source = new NtsSource({
    host: server.host,
    port: server.port,
    samples: 1,
    timeoutMs: 200,
    verifyChain: serverTimeChainVerifier({ caFile: otherPki.caFile }),
  });
  const m = await source.measure();
  t.false(m.ok);
  if (!m.ok) {
    t.is(m.code, 'nts_ke_untrusted');
    t.is(m.kind, 'nts');
  }
  // Node's own check (no evaluator) refuses it too, with the same code.
  const strict = await startHostileNtsKeServer({ certificate: leaf, respond: goodResponse(9) });
  t.teardown(() => strict.stop());
  const error = await t.throwsAsync(
    performNtsKe({ host: strict.host, port: strict.port, ca: [otherPki.root.certPem], verifyNatively: true }),
  );
  t.is(codeOf(error), 'nts_ke_untrusted');
});

it(`property: junk records from a hostile server never crash the client: keys, or a coded error${needs}`, async (t) => {
  const piece = fc.oneof(
    fc.uint8Array({ maxLength: 30 }).map((b) => Buffer.from(b)),
    fc
      .record({ type: fc.integer({ min: 0, max: 8 }), critical: fc.boolean(), body: fc.uint8Array({ maxLength: 12 }) })
      .map((r) => record(r.type, Buffer.from(r.body), r.critical)),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(piece, { minLength: 1, maxLength: 8 }), async (pieces) => {
      try {
        await keAgainst(Buffer.concat(pieces), { timeoutMs: 2000 });
        return true;
      } catch (error) {
        return error instanceof NtsKeError && isCode(ntsKeCodes, error.code);
      }
    }),
    { numRuns: 25 },
  );
  t.pass();
});

it(`a CA file anyone can write is not used: ca_file_unsafe, and no NTS-KE is attempted${needs}`, async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'tg-nts-ca-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const caFile = path.join(dir, 'ca.pem');
  await writeFile(caFile, pki.root.certPem);
  await chmod(caFile, 0o666);
  const server = await startHostileNtsKeServer({ certificate: leaf, respond: goodResponse(9) });
  t.teardown(() => server.stop());
  const source = new NtsSource({
    host: server.host,
    port: server.port,
    samples: 1,
    timeoutMs: 200,
    caFile,
    verifyChain: serverTimeChainVerifier({ caFile }),
  });
  const m = await source.measure();
  t.false(m.ok);
  if (!m.ok) t.is(m.code, 'ca_file_unsafe', m.error);
  t.is(server.connections, 0);
});
