// A real NTP server for tests: Debian's chronyd on 127.0.0.1, its clock skewed by libfaketime.
//
// Why these settings:
// - `-x` always: chronyd must never step or slew this machine's clock.
// - `-d`: stay in the foreground, so the child's PID is chronyd's own and it logs to stderr.
// - `local stratum 1` with no sources: chronyd serves its (faked) clock as a stratum-1 reference
//   immediately, LI = 0.
// - Kernel timestamps: chrony 4.3 has no directive that turns software (kernel) RX timestamping
//   off (only `hwtimestamp` for hardware, which we never configure). libfaketime cannot fake the
//   kernel's SCM_TIMESTAMPING, but chronyd discards a kernel timestamp that differs from its own
//   (faked) daemon clock by more than 1 s (MAX_TS_DELAY in ntp_io_linux.c) and then uses the
//   daemon timestamp. So a skew of 0 or |skew| > 1 s is served consistently; a skew of up to 1 s
//   would mix a real receive timestamp with a faked transmit timestamp, and is refused here.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { libfaketimePath } from './system.js';

export interface RunningChrony {
  host: string;
  port: number;
  /** chronyd's PID, for diagnostics. */
  pid: number;
  /** The NTS-KE port when started with `nts`, else null. */
  ntsPort: number | null;
  stop(): Promise<void>;
  /**
   * Stops chronyd and starts it again on the same ports. `newKeys`: its NTS server keys are
   * thrown away first (else chronyd reloads them from its private ntsdumpdir), so the cookies
   * it gave out before no longer open.
   */
  restart(options?: { newKeys?: boolean }): Promise<void>;
}

/** chronyd's NTS server (ntsserverkey / ntsservercert): a key and a PEM chain, leaf first. */
export interface ChronyNts {
  certFile: string;
  keyFile: string;
  /** `ntsntpserver`: the NTP server NTS-KE names (its Server Negotiation record), e.g. a relay's address. */
  ntpServer?: string;
}

const chronydPath = existsSync('/usr/sbin/chronyd') ? '/usr/sbin/chronyd' : 'chronyd';
const host = '127.0.0.1';
const running = new Set<ChildProcess>();

// A test that crashes must not leave chronyd behind.
process.on('exit', () => {
  for (const child of running) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

export async function startChrony(options: { skewSeconds: number; nts?: ChronyNts }): Promise<RunningChrony> {
  const { skewSeconds } = options;
  if (!Number.isFinite(skewSeconds)) throw new RangeError(`skewSeconds must be a finite number, got ${skewSeconds}`);
  if (skewSeconds !== 0 && Math.abs(skewSeconds) <= 1) {
    throw new RangeError(
      `chronyd under libfaketime cannot serve a skew of ${skewSeconds} s: within 1 s it uses real kernel receive timestamps; use 0 or |skew| > 1 s`,
    );
  }
  let faketimeLibrary: string | undefined;
  if (skewSeconds !== 0) {
    faketimeLibrary = libfaketimePath();
    if (!faketimeLibrary) throw new Error('libfaketime is not installed (apt-get install libfaketime)');
  }

  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freeUdpPort();
    const ntsPort = options.nts ? await freeTcpPort() : null;
    try {
      return await launch(port, skewSeconds, faketimeLibrary, options.nts && { ...options.nts, port: ntsPort! });
    } catch (error) {
      // Most likely another process took the port between our probe and chronyd's bind.
      lastError = error as Error;
    }
  }
  throw lastError ?? new Error('chronyd did not start');
}

async function launch(
  port: number,
  skewSeconds: number,
  faketimeLibrary: string | undefined,
  nts: (ChronyNts & { port: number }) | undefined,
): Promise<RunningChrony> {
  const dir = await mkdtemp(path.join(tmpdir(), 'trustguard-chrony-'));
  const conf = path.join(dir, 'chrony.conf');
  const ntsDumpDir = path.join(dir, 'nts');
  await writeFile(
    conf,
    [
      `port ${port}`,
      `bindaddress ${host}`,
      'allow 127.0.0.0/8',
      'local stratum 1',
      'cmdport 0',
      'bindcmdaddress /',
      `pidfile ${path.join(dir, 'chronyd.pid')}`,
      // NTS server: key and chain made by openssl; NTS-KE in chronyd's own process (no helper
      // processes to leave behind); its server keys kept in a private dump directory.
      ...(nts
        ? [
            `ntsserverkey ${nts.keyFile}`,
            `ntsservercert ${nts.certFile}`,
            `ntsport ${nts.port}`,
            'ntsprocesses 0',
            ...(nts.ntpServer ? [`ntsntpserver ${nts.ntpServer}`] : []),
            `ntsdumpdir ${ntsDumpDir}`,
          ]
        : []),
      // No driftfile, no logdir: nothing written outside the temp dir.
      '',
    ].join('\n'),
  );
  if (nts) await mkdir(ntsDumpDir, { mode: 0o700 });

  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.LD_PRELOAD;
  delete env.FAKETIME;
  if (faketimeLibrary) {
    env.LD_PRELOAD = faketimeLibrary;
    env.FAKETIME = `${skewSeconds > 0 ? '+' : '-'}${Math.abs(skewSeconds)}s`;
    // chronyd's scheduler and our readiness probe rely on a true monotonic clock.
    env.FAKETIME_DONT_FAKE_MONOTONIC = '1';
  }

  let current = await spawnChronyd(conf, env, port, nts?.port ?? null);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (!stopped) {
      stopped = true;
      await current.kill();
      await rm(dir, { recursive: true, force: true });
    }
  };
  const restart = async (options: { newKeys?: boolean } = {}): Promise<void> => {
    await current.kill();
    if (options.newKeys && nts) {
      await rm(ntsDumpDir, { recursive: true, force: true });
      await mkdir(ntsDumpDir, { mode: 0o700 });
    }
    current = await spawnChronyd(conf, env, port, nts?.port ?? null);
  };
  return {
    host,
    port,
    get pid() {
      return current.pid;
    },
    ntsPort: nts?.port ?? null,
    stop,
    restart,
  };
}

async function spawnChronyd(
  conf: string,
  env: NodeJS.ProcessEnv,
  port: number,
  ntsPort: number | null,
): Promise<{ pid: number; kill(): Promise<void> }> {
  const child = spawn(chronydPath, ['-f', conf, '-d', '-x', '-u', 'root'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  running.add(child);
  let log = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    if (log.length < 20_000) log += chunk;
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  let spawnError: Error | undefined;
  child.once('error', (error) => {
    spawnError = error;
  });
  exited.then(() => running.delete(child));

  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      process.kill(child.pid, 'SIGTERM');
      const killer = setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }, 3000);
      await exited;
      clearTimeout(killer);
    }
  };

  try {
    const failed = () =>
      spawnError ?? (child.exitCode !== null || child.signalCode !== null ? new Error('exited') : undefined);
    await waitUntilServing(port, failed);
    if (ntsPort !== null) await waitUntilListening(ntsPort, failed);
  } catch (error) {
    await kill();
    throw new Error(`chronyd did not serve on ${host}:${port}: ${(error as Error).message}\n${log.trim()}`);
  }
  return { pid: child.pid!, kill };
}

/** Asks the kernel for a free TCP port (for NTS-KE). */
function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Connects to the TCP port every 25 ms until it accepts. Gives up after 10 s (startup). */
function waitUntilListening(port: number, failed: () => Error | undefined): Promise<void> {
  const deadline = Date.now() + 10_000;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      const error = failed();
      if (error) return reject(error);
      if (Date.now() > deadline) return reject(new Error(`NTS-KE port ${port} not listening within 10 s`));
      const socket = net.connect(port, host);
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        setTimeout(attempt, 25);
      });
    };
    attempt();
  });
}

/** Asks the kernel for a free UDP port. Another process may take it before chronyd binds; the caller retries. */
function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, host, () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

/**
 * Sends NTP client requests every 25 ms until chronyd answers with a synchronised (stratum 1–15,
 * LI ≠ 3) reply to our own request. Gives up after 10 s (startup, not a test's timing budget).
 */
function waitUntilServing(port: number, failed: () => Error | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    const sent = new Set<string>();
    let finished = false;
    const finish = (error?: Error): void => {
      if (finished) return;
      finished = true;
      clearInterval(ticker);
      clearTimeout(deadline);
      socket.close();
      if (error) reject(error);
      else resolve();
    };
    socket.on('error', (error) => finish(error));
    socket.on('message', (reply) => {
      if (reply.length < 48) return;
      const mode = reply[0]! & 7;
      const leap = reply[0]! >> 6;
      const stratum = reply[1]!;
      const origin = reply.subarray(24, 32).toString('hex');
      if (mode === 4 && leap !== 3 && stratum >= 1 && stratum <= 15 && sent.has(origin)) finish();
    });
    const probe = (): void => {
      const error = failed();
      if (error) return finish(error);
      const request = Buffer.alloc(48);
      request[0] = (4 << 3) | 3; // version 4, mode 3 (client)
      const transmit = randomBytes(8);
      transmit.copy(request, 40);
      sent.add(transmit.toString('hex'));
      socket.send(request, port, host);
    };
    const ticker = setInterval(probe, 25);
    const deadline = setTimeout(() => finish(new Error('no synchronised reply within 10 s')), 10_000);
    socket.bind(0, host, probe);
  });
}
