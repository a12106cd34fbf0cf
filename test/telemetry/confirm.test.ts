// Issue 21: `telemetry test` and `telemetry flush` confirm delivery against a real collector
// (nginx): they wait, bounded, and say that the records reached it and when, or why not (503:
// the collector is unavailable), exit 0 or 2; flush prints the state after the upload.
import test from 'ava';
import { agentctl, createAgentFixture } from '../helpers/agent.js';
import { startCollector } from '../helpers/collector.js';
import { missing } from '../helpers/system.js';

const needs = missing('root', 'nginx', 'openssl');

(needs ? test.skip : test.serial)(
  `telemetry test and flush wait for the collector and say what reached it, or why not${needs ? ` [needs ${needs}]` : ''}`,
  async (t) => {
    const collector = await startCollector();
    t.teardown(() => collector.cleanup());
    const fixture = createAgentFixture('tg-telemetry-confirm-');
    t.teardown(() => fixture.cleanup());
    fixture.writeConfig({
      CollectorURL: collector.origin,
      CollectorBearerToken: collector.token,
      TelemetryFlushIntervalSeconds: 3600,
    });
    await fixture.start();

    const ok = await agentctl(['telemetry', 'test', '--count', '3', '--socket', fixture.socketPath]);
    t.is(ok.code, 0, ok.stdout + ok.stderr);
    t.regex(ok.stdout, /^Queued 3 telemetry\.test events/);
    t.regex(
      ok.stdout,
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}: The collector took them \(http:\/\/127\.0\.0\.1:\d+\/v1\/logs\)/m,
    );
    const json = JSON.parse(
      (await agentctl(['telemetry', 'test', '--json', '--socket', fixture.socketPath])).stdout,
    ) as { delivery: { outcome: string; at: string } };
    t.is(json.delivery.outcome, 'delivered');
    t.regex(json.delivery.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/, 'RFC 3339 UTC in JSON');

    collector.setMode('503');
    const refused = await agentctl(['telemetry', 'test', '--socket', fixture.socketPath]);
    t.is(refused.code, 2, refused.stdout);
    t.regex(refused.stdout, /Not delivered: The collector is unavailable \(HTTP 502\/503\/504\)[^\n]*\(HTTP 503\)/);

    collector.setMode('ok');
    const flush = await agentctl(['telemetry', 'flush', '--socket', fixture.socketPath]);
    t.is(flush.code, 0, flush.stdout + flush.stderr);
    t.regex(flush.stdout, /^Heartbeat queued; upload started\.\n.*The collector took them/);
    // flush prints the state after it: the retried batch of the 503 may still be on its way.
    t.regex(flush.stdout, /State +\| (idle|sending)/);
  },
);
