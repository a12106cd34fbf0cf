// The SSO doctor's macOS commands, for real (issue 20, acceptance 4): run by the sso-commands
// job of .github/workflows/macos.yml as root (swcutil show needs it). Whatever the runner has
// installed, each parser must accept the command's output: a state that is not "malformed"
// (not registered is fine: no SSO extension is installed on a CI runner).
import test from 'ava';
import { macCommands } from '../../agent/sso/doctor.js';
import {
  parseAppSsoPlatform,
  parseEntitlements,
  parsePluginkit,
  parseSwcutilShow,
  runCommand,
} from '../../agent/sso/macos.js';
import { systemRootsKeychain, trustSetup } from '../../agent/sso/tls.js';

const onDarwin = process.platform === 'darwin';
const darwin = onDarwin ? test : test.skip;
const needs = onDarwin ? '' : ' [needs darwin]';
const timeoutMs = 60_000;

darwin(
  `pluginkit -m -v -i: the parser accepts the output, for a registered extension and an unknown one${needs}`,
  async (t) => {
    // Apple's own Kerberos SSO extension is on every Mac; an unknown identifier gives nothing.
    for (const id of ['com.apple.AppSSOKerberos.KerberosExtension', 'com.example.not.installed.ssoe']) {
      const run = await runCommand(macCommands.pluginkit, ['-m', '-v', '-i', id], timeoutMs);
      t.is(run.state, 'ok', JSON.stringify(run));
      if (run.state !== 'ok') continue;
      t.log(`pluginkit ${id}:\n${run.stdout.slice(0, 600)}`);
      t.not(parsePluginkit(run.stdout, id).state, 'malformed', run.stdout.slice(0, 600));
    }
  },
);

darwin(`swcutil show: the parser accepts the output${needs}`, async (t) => {
  const run = await runCommand(macCommands.swcutil, ['show'], timeoutMs);
  t.is(run.state, 'ok', JSON.stringify(run).slice(0, 600));
  if (run.state !== 'ok') return;
  t.log(run.stdout.slice(0, 800));
  t.not(parseSwcutilShow(run.stdout, 'login.microsoftonline.com').state, 'malformed');
});

darwin(`codesign -d --entitlements -: the parser accepts the output of an app with entitlements${needs}`, async (t) => {
  for (const app of ['/System/Applications/Calendar.app', '/System/Applications/Mail.app']) {
    const run = await runCommand(macCommands.codesign, ['-d', '--entitlements', '-', app], timeoutMs);
    t.is(run.state, 'ok', JSON.stringify(run).slice(0, 600));
    if (run.state !== 'ok') continue;
    t.log(`${app}:\n${run.stdout.slice(0, 400)}`);
    const parsed = parseEntitlements(run.stdout);
    t.is(parsed.state, 'ok', JSON.stringify(parsed));
  }
});

darwin(
  `app-sso platform -s: the parser accepts the output (no Platform SSO on a runner: not registered)${needs}`,
  async (t) => {
    const run = await runCommand(macCommands.appSso, ['platform', '-s'], timeoutMs);
    t.is(run.state, 'ok', JSON.stringify(run).slice(0, 600));
    if (run.state !== 'ok') return;
    t.log(run.stdout.slice(0, 800));
    t.not(parseAppSsoPlatform(run.stdout).state, 'malformed', run.stdout.slice(0, 800));
  },
);

darwin(`the system's own roots are read from ${systemRootsKeychain}${needs}`, async (t) => {
  const setup = await trustSetup([], { timeoutMs });
  t.is(setup.systemUnknown, null);
  t.true((setup.system?.length ?? 0) > 50);
});
