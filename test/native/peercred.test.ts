import test from 'ava';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { peerCredentials, peerCredentialsOfFd } from '../../native/peercred.js';
import { runProgram } from '../helpers/agent.js';
import { missing } from '../helpers/system.js';

function withServer(
  t: { teardown(fn: () => void): void },
  onConnection: (socket: net.Socket) => void,
): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tg-peercred-'));
  const file = path.join(dir, 's.sock');
  const server = net.createServer(onConnection);
  t.teardown(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return new Promise((resolve) => server.listen(file, () => resolve(file)));
}

test('the server side of a connection sees the client process: our own uid, gid and pid', async (t) => {
  let seen: ReturnType<typeof peerCredentials> | undefined;
  const connected = new Promise<void>((resolve) => {
    void withServer(t, (socket) => {
      seen = peerCredentials(socket);
      socket.end();
      resolve();
    }).then((file) => net.createConnection(file).on('error', () => {}));
  });
  await connected;
  t.deepEqual(seen, {
    uid: process.getuid!(),
    gid: process.getgid!(),
    pid: process.platform === 'linux' ? process.pid : seen!.pid,
  });
});

const asNobody = missing('root', 'linux');
(asNobody ? test.skip : test)(
  `a client running as nobody is seen as nobody${asNobody ? ` [needs ${asNobody}]` : ''}`,
  async (t) => {
    let resolveSeen: (c: ReturnType<typeof peerCredentials>) => void;
    const seen = new Promise<ReturnType<typeof peerCredentials>>((r) => (resolveSeen = r));
    const file = await withServer(t, (socket) => {
      resolveSeen(peerCredentials(socket));
      socket.end();
    });
    // The socket's directory is root's 0700 temp folder: let nobody reach it for this test.
    const { chmodSync } = await import('node:fs');
    chmodSync(path.dirname(file), 0o755);
    chmodSync(file, 0o666);
    const script = `const s=require('net').createConnection(${JSON.stringify(file)});s.on('error',()=>{});s.on('close',()=>process.exit(0));`;
    const run = runProgram('setpriv', [
      '--reuid=nobody',
      '--regid=nogroup',
      '--clear-groups',
      process.execPath,
      '-e',
      script,
    ]);
    const cred = await seen;
    await run;
    const nobody = Number((await runProgram('id', ['-u', 'nobody'])).stdout.trim());
    const nogroup = Number((await runProgram('getent', ['group', 'nogroup'])).stdout.split(':')[2]);
    t.is(cred.uid, nobody);
    t.is(cred.gid, nogroup);
    t.true(cred.pid === null || cred.pid > 0);
  },
);

test('bad arguments are TypeErrors before C++; a closed socket and a non-socket fd are errors', async (t) => {
  t.throws(() => peerCredentials(42 as unknown as net.Socket), { instanceOf: TypeError });
  t.throws(() => peerCredentials(new net.Socket(), 1), { instanceOf: TypeError });
  t.throws(() => peerCredentials(new net.Socket()), { message: /no file descriptor/ });
  t.throws(() => peerCredentialsOfFd(-1), { instanceOf: TypeError });
  t.throws(() => peerCredentialsOfFd(1.5), { instanceOf: TypeError });
  // fd 0 of the test runner is not a Unix socket: the OS says so.
  const { openSync, closeSync } = await import('node:fs');
  const fd = openSync(os.tmpdir(), 'r');
  t.teardown(() => closeSync(fd));
  t.throws(() => peerCredentialsOfFd(fd), { message: /SO_PEERCRED|getpeereid/ });
});

test('the agent decides on the peer uid only: every use of peerCredentials reads .uid, none the pid', (t) => {
  // macOS LOCAL_PEERPID is the peer socket's most recent user (native/peercred.h), not the
  // process that connected: no code in agent/ may read it.
  const agentRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'agent');
  const files = readdirSync(agentRoot, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.ts'));
  const uses: string[] = [];
  for (const file of files) {
    const text = readFileSync(path.join(agentRoot, file), 'utf8');
    for (const m of text.matchAll(/peerCredentials(?:OfFd)?\([^)]*\)(\.\w+)?/g)) uses.push(`${file}: ${m[0]}`);
  }
  t.true(uses.length > 0);
  for (const use of uses) t.regex(use, /\)\.uid$/, use);
});
