// `agentctl doctor sso` without --profile, for real (issue 20): run as root by the sso-commands
// job of .github/workflows/macos.yml. agentd runs the real `/usr/bin/profiles show -output
// stdout-xml`; whatever the runner has installed (no SSO payload is expected), its output must
// read (`ok`, not `installed_unparsable`), and agentctl must get the answer from agentd.
import test from 'ava';
import { installedReader } from '../../agent/sso/installed-service.js';
import { agentctl, createAgentFixture } from '../helpers/agent.js';

const onDarwin = process.platform === 'darwin';
const darwin = onDarwin ? test : test.skip;
const needs = onDarwin ? '' : ' [needs darwin]';

darwin(`the real profiles show -output stdout-xml reads, as root, through the parser process${needs}`, async (t) => {
  const answer = await installedReader().read();
  t.is(answer.code, 'ok', JSON.stringify(answer).slice(0, 600));
  if (answer.code !== 'ok') return;
  t.true(answer.as_root);
  t.log(
    `${answer.payloads.length} SSO payloads, ${answer.left_out} left out, ${answer.associated.length} associated apps`,
  );
});

darwin(`agentctl doctor sso without --profile gets the installed payloads from a real agentd${needs}`, async (t) => {
  const fixture = createAgentFixture('tg-sso-installed-');
  t.teardown(fixture.cleanup);
  await fixture.start();
  const result = await agentctl(['doctor', 'sso', '--config', fixture.configFile, '--json', '--timeout', '10']);
  t.log(`exit ${result.code}\n${result.stderr.slice(0, 600)}`);
  t.notRegex(result.stderr, /installed_(daemon_unreachable|daemon_error|command_failed|unparsable|not_macos)/);
  if (result.code === 1) t.regex(result.stderr, /no com\.apple\.extensiblesso payload among the installed profiles/);
  else {
    t.true(result.code === 0 || result.code === 2, String(result.code));
    const report = JSON.parse(result.stdout) as { installed?: { read_at: string } };
    t.truthy(report.installed?.read_at);
  }
});

darwin(`agentctl doctor's sso payloads row reads the installed payloads from a real agentd${needs}`, async (t) => {
  const fixture = createAgentFixture('tg-sso-row-');
  t.teardown(fixture.cleanup);
  await fixture.start();
  const result = await agentctl(['doctor', '--config', fixture.configFile, '--json']);
  const rows = (JSON.parse(result.stdout) as { checks: Array<{ name: string; status: string; code: string }> }).checks;
  const row = rows.find((r) => r.name === 'sso payloads');
  t.log(JSON.stringify(row));
  // agentd answered with what is installed: graded, or none installed; never its failure or "off macOS".
  t.true(['ok', 'sso_no_payloads', 'sso_payload_failing', 'sso_payload_warning'].includes(row?.code ?? ''));
});
