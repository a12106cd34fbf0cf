// The keychain scrub with a real agentd: a session's report is filed under the uid the kernel
// gives for its connection and shown in `agentctl status`; a forged uid, an oversized report
// and a flood are handled; a TenantDomain change asks the console session to scrub.
import test from 'ava';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { tenantTag } from '../../agent/keychain/tag.js';
import { agentctl, agentdPath, createAgentFixture, distRoot, eventually, runProgram } from '../helpers/agent.js';
import { keyringMissing, startKeyring } from '../helpers/keyring.js';
import { missing } from '../helpers/system.js';

const A = 'a.example.com';
const B = 'b.example.com';

// The uid comes from the control server's peer credentials (native/peercred, issue 8).
const peerCredentials = existsSync(path.join(distRoot, 'native', 'peercred.js'))
  ? undefined
  : 'peer credentials (issue 8)';
const keyring = keyringMissing();
const e2e = [keyring, peerCredentials].filter(Boolean).join(', ') || undefined;
const asNobody = [missing('root', 'linux'), peerCredentials].filter(Boolean).join(', ') || undefined;

interface StatusJson {
  keychain: {
    tenant_domain: string | null;
    mode: string;
    users: Array<{
      uid: number;
      deleted: number;
      would_delete: number;
      scanned: number;
      claimed_uid: number | null;
      current_tenant: boolean | null;
      trigger: string;
    }>;
    last_session_request: { outcome: string } | null;
    reports_refused: Record<string, number>;
  };
}

async function status(socketPath: string): Promise<StatusJson> {
  const r = await agentctl(['status', '--json', '--socket', socketPath]);
  return JSON.parse(r.stdout) as StatusJson;
}

(e2e ? test.skip : test)(
  `a session's scrub is reported to agentd, filed under its uid, audited, and shown in status${e2e ? ` [needs ${e2e}]` : ''}`,
  async (t) => {
    const fx = createAgentFixture('tg-kc-daemon-');
    t.teardown(fx.cleanup);
    fx.writeConfig({ TenantDomain: A, ScrubServices: ['S'], ScrubMode: 'enforce' });
    const agent = await fx.start();
    const session = await startKeyring();
    t.teardown(() => session.cleanup());
    await session.storeAll([
      { service: 'S', account: 'b1', comment: tenantTag(B), secret: 'x1' },
      { service: 'S', account: 'b2', comment: tenantTag(B), secret: 'x2' },
      { service: 'S', account: 'a1', comment: tenantTag(A), secret: 'x3' },
    ]);
    // The LaunchAgent's program: agentd --session, as the user, in the user's session.
    const run = await runProgram(process.execPath, [agentdPath, '--session', '--config', fx.configFile], {
      env: session.env,
    });
    t.is(run.code, 0, run.stderr);
    const line = JSON.parse(run.stdout) as { reported: boolean; deleted: unknown[] };
    t.true(line.reported);
    t.is(line.deleted.length, 2);

    const { keychain } = await status(fx.socketPath);
    t.like(keychain, { tenant_domain: A, mode: 'enforce' });
    t.like(keychain.users[0], {
      uid: process.getuid!(),
      trigger: 'session',
      scanned: 3,
      deleted: 2,
      current_tenant: true,
      claimed_uid: null,
    });
    const audits = fx.logLines().filter((l) => l.message === 'keychain scrub audit: deleted');
    t.deepEqual(audits.map((l) => l.account).sort(), ['b1', 'b2']);
    t.true(audits.every((l) => l.uid === process.getuid!() && l.reason === 'other_tenant'));
    const human = await agentctl(['status', '--socket', fx.socketPath]);
    t.regex(human.stdout, /Keychain[\s\S]*uid \d+\s+Reported +\| \d{4}-[\s\S]*Result +\| scanned 3, deleted 2, kept 1/);

    // The last result per user survives kill -9 and a restart (state file).
    agent.child.kill('SIGKILL');
    await agent.exited;
    await fx.start();
    t.like((await status(fx.socketPath)).keychain.users[0], { uid: process.getuid!(), deleted: 2 });
  },
);

(asNobody ? test.skip : test)(
  `a report sent as nobody claiming root's uid is filed under nobody's uid${asNobody ? ` [needs ${asNobody}]` : ''}`,
  async (t) => {
    const fx = createAgentFixture('tg-kc-nobody-');
    t.teardown(fx.cleanup);
    fx.writeConfig({ TenantDomain: A, ScrubServices: ['S'] });
    await fx.start();
    const nobody = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups'];
    const nobodyUid = Number((await runProgram('id', ['-u', 'nobody'])).stdout.trim());
    const report = {
      version: 1,
      uid: 0,
      trigger: 'session',
      tenant: A,
      tenant_tag: tenantTag(A),
      mode: 'enforce',
      skipped: null,
      scanned: 99,
      kept: 0,
      deleted: 99,
      would_delete: 0,
      failed: 0,
      entries: [],
      truncated: true,
      errors: [],
      not_searched: [],
      started_at: new Date().toISOString(),
      duration_ms: 1,
    };
    const send = async (body: unknown) => {
      const script = `const s=require('net').createConnection(process.argv[1]);s.on('connect',()=>s.end(process.argv[2]+'\\n'));let o='';s.on('data',d=>o+=d);s.on('close',()=>process.stdout.write(o));`;
      const r = await runProgram(nobody[0]!, [
        ...nobody.slice(1),
        process.execPath,
        '-e',
        script,
        fx.socketPath,
        JSON.stringify(body),
      ]);
      return JSON.parse(r.stdout.split('\n')[0]!) as {
        ok: boolean;
        result?: { filed: boolean; uid?: number; code?: string };
      };
    };
    const answer = await send({ request: 'keychain.report', args: { report } });
    t.true(answer.ok);
    t.deepEqual(answer.result, { filed: true, uid: nobodyUid });
    const { keychain } = await status(fx.socketPath);
    t.deepEqual(
      keychain.users.map((u) => u.uid),
      [nobodyUid],
    );
    t.is(keychain.users[0]!.claimed_uid, 0);
    t.truthy(fx.logLines().find((l) => l.code === 'uid_mismatch' && l.uid === nobodyUid && l.claimed_uid === 0));

    // Oversized, then a flood: refused with codes; status still answers for everyone.
    const big = {
      ...report,
      entries: Array.from({ length: 32 }, () => ({
        service: 's'.repeat(256),
        account: 'a'.repeat(256),
        tag: null,
        reason: 'untagged',
      })),
    };
    t.like((await send({ request: 'keychain.report', args: { report: big } })).result, {
      filed: false,
      code: 'too_large',
    });
    const answers = [];
    for (let i = 0; i < 8; i++) answers.push(await send({ request: 'keychain.report', args: { report } }));
    t.true(answers.some((a) => a.result?.code === 'rate_limited'));
    const after = await status(fx.socketPath);
    t.true(after.keychain.reports_refused.rate_limited! > 0);
    t.is(after.keychain.reports_refused.too_large, 1);
  },
);

const onLinux = process.platform === 'linux' ? undefined : 'linux';
(onLinux ? test.skip : test)(
  `a TenantDomain change asks the console session to scrub (Linux: unsupported, said so)${onLinux ? ` [needs ${onLinux}]` : ''}`,
  async (t) => {
    const fx = createAgentFixture('tg-kc-tenant-');
    t.teardown(fx.cleanup);
    fx.writeConfig({ TenantDomain: A, ScrubServices: ['S'] });
    await fx.start();
    t.is((await status(fx.socketPath)).keychain.last_session_request, null);
    fx.writeConfig({ TenantDomain: B, ScrubServices: ['S'] });
    const request = await eventually(
      async () => (await status(fx.socketPath)).keychain.last_session_request ?? undefined,
      'a session request',
    );
    t.is(request.outcome, 'unsupported');
    await eventually(
      () =>
        fx
          .logLines()
          .find(
            (l) =>
              l.message === 'session scrub requested' && l.outcome === 'unsupported' && l.reason === 'tenant_changed',
          ),
      'the request in the log',
    );
  },
);
