// Issue 8, item 11: no secret reaches the world-readable log, `status --json` or `config show`.
import test from 'ava';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { redactFields, redactMessage } from '../../agent/log/redact.js';
import { createAgentLogger } from '../../agent/log/winston.js';
import { agentctl, createAgentFixture, eventually, requestOnce } from '../helpers/agent.js';
import { nobodyPrefix, needsNobody, tempFolder } from '../helpers/attacker.js';

const secret = 'S3cr3tValue0123456789abcdef';
const jwtSecret = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJlMTIzNDU2';

/** Twelve ways a secret reaches a log line: the issue's list (before the fix, 6 of them leaked). */
const leaks: Array<[string, string, Record<string, unknown>?]> = [
  ['bearer header', `upload failed: Authorization: Bearer ${secret}`],
  ['basic header', `proxy said: Basic ${secret}`],
  ['password=', `login with password=${secret} refused`],
  ['token=', `retrying with token=${secret}`],
  ['access_token=', `GET /cb?code=1&access_token=${secret}`],
  ['refresh_token=', `refresh_token=${secret} expired`],
  ['client_secret=', `client_id=abc&client_secret=${secret}`],
  ['bare JWT', `the IdP returned ${jwtSecret}`],
  ['URL userinfo', `connecting to https://admin:${secret}@collector.example.com/v1/logs`],
  ['URL query', `POST https://collector.example.com/v1/logs?api_key=${secret} failed`],
  ['JSON in text', `body: {"access_token": "${secret}", "expires_in": 3600}`],
  [
    'structured fields',
    'request failed',
    {
      request: { headers: { Authorization: `Bearer ${secret}` }, url: `https://x.example.com/?sig=${secret}` },
      detail: `refresh_token=${secret}`,
    },
  ],
];

test('the redactor cuts each of the twelve test messages and field sets, keeping the rest readable', (t) => {
  for (const [name, message, fields] of leaks) {
    const out = `${redactMessage(message)} ${JSON.stringify(redactFields(fields ?? {}))}`;
    t.false(out.includes(secret) || out.includes(jwtSecret), `${name}: ${out}`);
  }
  t.is(
    redactMessage('connecting to https://admin:pw@collector.example.com/v1/logs?token=x'),
    'connecting to https://collector.example.com/v1/logs?…',
  );
  t.is(redactMessage('GET /cb?code=1&access_token=abc'), 'GET /cb?code=1&access_token=<redacted>');
  t.is(redactMessage('clock is 92 s slow against 3 of 3 sources'), 'clock is 92 s slow against 3 of 3 sources');
  t.is(redactMessage('token_count: 5 tokens'), 'token_count: 5 tokens');
});

test('the twelve messages through the real logger: nothing secret reaches agent.log', async (t) => {
  const dir = tempFolder(t);
  const logger = createAgentLogger({ directory: dir, level: 'debug', console: false, subsystem: null });
  for (const [, message, fields] of leaks) logger.warn(message, fields);
  await logger.close();
  const text = readFileSync(logger.file, 'utf8');
  t.is(text.trim().split('\n').length, leaks.length);
  t.false(text.includes(secret));
  t.false(text.includes(jwtSecret));
});

// A generated secret, in a generated place: a message, a field, a nested field, a URL.
const secretArb = fc.stringMatching(/^[A-Za-z0-9]{16,40}$/).map((s) => `Zq9${s}`);
const placement = fc.constantFrom(
  (s: string) => ({ message: `Bearer ${s}` }),
  (s: string) => ({ message: `access_token=${s}` }),
  (s: string) => ({ message: `refresh_token: "${s}"` }),
  (s: string) => ({ message: `client_secret=${s}&x=1` }),
  (s: string) => ({ message: `https://u:${s}@h.example.com/` }),
  (s: string) => ({ message: `https://h.example.com/p?x=${s}` }),
  (s: string) => ({ message: 'f', fields: { password: s } }),
  (s: string) => ({ message: 'f', fields: { nested: { deeper: [{ clientSecret: s }] } } }),
  (s: string) => ({ message: 'f', fields: { url: `https://h.example.com/?token=${s}` } }),
  (s: string) => ({ message: 'f', fields: { text: `Authorization: Bearer ${s}` } }),
  (s: string) => ({ message: `eyJ${s.slice(0, 8)}.eyJ${s}.sig${s.slice(0, 6)}` }),
);

test('property: no generated secret, wherever it is put, reaches the log file', async (t) => {
  const dir = tempFolder(t);
  const cases = fc.sample(fc.tuple(secretArb, placement), 300);
  const logger = createAgentLogger({ directory: dir, level: 'debug', console: false, subsystem: null });
  for (const [s, place] of cases) {
    const { message, fields } = place(s) as { message: string; fields?: Record<string, unknown> };
    logger.info(message, fields);
  }
  await logger.close();
  const text = readFileSync(logger.file, 'utf8');
  for (const [s] of cases) t.false(text.includes(s), s);
});

test('property: secrets in the configuration never reach the log, status --json or config show of a real agentd', async (t) => {
  const fx = createAgentFixture('tg-secrets-');
  t.teardown(fx.cleanup);
  fx.writeConfig({});
  await fx.start();
  let reloads = 0;
  await fc.assert(
    fc.asyncProperty(
      secretArb,
      // A token of the right type, of the wrong type (a number-like string in an array, a huge string), and URLs carrying secrets.
      fc.constantFrom('string', 'array', 'too-long', 'dictionary'),
      async (s, shape) => {
        const token =
          shape === 'string' ? s : shape === 'array' ? [s, s] : shape === 'too-long' ? s.repeat(400) : { value: s };
        fx.writeConfig({
          CollectorBearerToken: token,
          CollectorURL: `https://user:${s}@collector.example.com/v1?access_token=${s}`,
          HTTPSTimeURLs: [`https://mdm.example.com/time?token=${s}`, 42],
        });
        reloads++;
        await eventually(
          () =>
            fx.logLines().filter((l) => l.message === 'configuration reloaded').length >= reloads ? true : undefined,
          'the reload',
        );
        const status = await agentctl(['status', '--json', '--socket', fx.socketPath]);
        const show = await agentctl(['config', 'show', '--json', '--socket', fx.socketPath]);
        const raw = JSON.stringify(await requestOnce(fx.socketPath, { request: 'config' }));
        const log = readFileSync(fx.logFile, 'utf8');
        for (const [where, text] of [
          ['status', status.stdout + status.stderr],
          ['config show', show.stdout + show.stderr],
          ['config request', raw],
          ['log', log],
        ] as const) {
          if (text.includes(s)) {
            t.log(`${where} leaked ${shape}: ${text.slice(Math.max(0, text.indexOf(s) - 120), text.indexOf(s) + 40)}`);
            return false;
          }
        }
        return true;
      },
    ),
    { numRuns: 8 },
  );
  t.pass();
});

(needsNobody ? test.skip : test)(
  `a wrong-typed CollectorBearerToken is described by type and length only, to nobody too${needsNobody ? ` [needs ${needsNobody}]` : ''}`,
  async (t) => {
    const fx = createAgentFixture('tg-secrets-type-');
    t.teardown(fx.cleanup);
    fx.writeConfig({
      CollectorBearerToken: 12345678901234,
      CollectorURL: 'https://u:p4ssw0rd@collector.example.com/?token=abc',
    });
    await fx.start();
    const status = await agentctl(['status', '--json', '--socket', fx.socketPath], {
      prefix: [...nobodyPrefix],
      env: { HOME: '/nonexistent' },
    });
    // A configuration problem makes status exit 2 (issue 21).
    t.is(status.code, 2, status.stderr);
    const problems = (JSON.parse(status.stdout) as { daemon: { config_problems: string[] } }).daemon.config_problems;
    t.true(
      problems.some((p) => /CollectorBearerToken must be a string; got number/.test(p)),
      problems.join('\n'),
    );
    t.false(status.stdout.includes('12345678901234'));
    t.false(status.stdout.includes('p4ssw0rd'));
    const show = await agentctl(['config', 'show', '--json', '--socket', fx.socketPath], {
      prefix: [...nobodyPrefix],
      env: { HOME: '/nonexistent' },
    });
    t.is(show.code, 0, show.stderr);
    t.false(show.stdout.includes('p4ssw0rd'));
    t.regex(show.stdout, /https:\/\/collector\.example\.com\/\?…/);
  },
);
