// The daemon side's triggers, on a minimal daemon (the real Scheduler, Bus and StatusRegistry):
// a TenantDomain change and a new console user ask the console session to scrub, once each,
// and only when the scrub is configured.
import test from 'ava';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Bus } from '../../agent/daemon/bus.js';
import type { Daemon } from '../../agent/daemon/daemon.js';
import { Scheduler } from '../../agent/daemon/scheduler.js';
import { StatusRegistry } from '../../agent/daemon/status.js';
import { attachKeychain } from '../../agent/keychain/service.js';
import type { SessionRequestResult } from '../../agent/keychain/session.js';
import { RecordingLogger } from '../helpers/recording-logger.js';

function fakeDaemon(t: { teardown(f: () => void): void }, config: Record<string, unknown>) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tg-kc-service-'));
  const logger = new RecordingLogger();
  const scheduler = new Scheduler(logger);
  t.teardown(() => {
    void scheduler.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const handlers = new Map<string, (args: Record<string, unknown>, context: object) => unknown>();
  const emitter = new EventEmitter();
  const daemon = Object.assign(emitter, {
    config: { StateDirectory: dir, ...config },
    logger: Object.assign(logger, { child: () => logger }),
    scheduler,
    status: new StatusRegistry(),
    bus: new Bus(),
    control: {
      handle: (name: string, handler: (args: Record<string, unknown>, context: object) => unknown) =>
        handlers.set(name, handler),
    },
  });
  return {
    daemon: daemon as unknown as Daemon & EventEmitter,
    logger,
    handlers,
    set: (c: Record<string, unknown>) => Object.assign(daemon.config, c),
  };
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a TenantDomain change asks the session once; not when the scrub is not configured', async (t) => {
  const { daemon, set } = fakeDaemon(t, { TenantDomain: 'a.example.com', ScrubServices: ['S'] });
  const asked: number[] = [];
  const service = attachKeychain(daemon, {
    watchConsole: null,
    requestSession: async () => (asked.push(1), { outcome: 'requested', uid: 501 }),
  });
  set({ TenantDomain: 'b.example.com' });
  daemon.emit('config', { changed: ['TenantDomain'] });
  await wait(20);
  t.is(asked.length, 1);
  t.like(service.lastSessionRequest(), { outcome: 'requested', uid: 501, reason: 'tenant_changed' });
  daemon.emit('config', { changed: ['LogLevel'] });
  set({ ScrubServices: [] });
  daemon.emit('config', { changed: ['TenantDomain'] });
  await wait(20);
  t.is(asked.length, 1);
});

test('a new console user is asked to scrub (fast user switching); the first look and the login window are not', async (t) => {
  const { daemon } = fakeDaemon(t, { TenantDomain: 'a.example.com', ScrubServices: ['S'] });
  const consoles: Array<number | null> = [501, 501, null, 502, 502, 501];
  let current: number | null = null;
  const asked: Array<number | null> = [];
  const service = attachKeychain(daemon, {
    watchConsole: { intervalMs: 15, consoleUid: async () => (current = consoles.length ? consoles.shift()! : current) },
    requestSession: async (): Promise<SessionRequestResult> => (
      asked.push(current),
      { outcome: 'requested', uid: current }
    ),
  });
  for (let i = 0; i < 200 && consoles.length; i++) await wait(10);
  await wait(50);
  t.deepEqual(asked, [502, 501]);
  t.like(service.lastSessionRequest(), { reason: 'console_user_changed', uid: 501 });
});

test('the keychain section and the report request are registered; the section reads the configuration in force', async (t) => {
  const { daemon, handlers, set } = fakeDaemon(t, {
    TenantDomain: 'a.example.com',
    ScrubServices: ['S'],
    ScrubMode: 'enforce',
  });
  attachKeychain(daemon, { watchConsole: null });
  t.true(handlers.has('keychain.report'));
  const first = (await daemon.status.collect()).keychain as Record<string, unknown>;
  t.like(first, {
    tenant_domain: 'a.example.com',
    mode: 'enforce',
    services: ['S'],
    users: [],
    last_session_request: null,
  });
  set({ TenantDomain: '' });
  t.like((await daemon.status.collect()).keychain, { tenant_domain: null, tenant_tag: null });
});
