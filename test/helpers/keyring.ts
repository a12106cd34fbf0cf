// A real gnome-keyring on a private D-Bus session (SPEC §3): dbus-run-session runs a shell
// that starts gnome-keyring-daemon (unlocked with a known password, or locked), prints the
// bus address and waits on its stdin; closing stdin ends the session, the bus and the keyring.
// HOME and XDG_RUNTIME_DIR point into a temporary folder, so nothing touches the machine's.
// Items are seeded and read back with secret-tool.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hasCommand } from './system.js';

export const keyringPassword = 'a-password';

/** Why the keyring tests cannot run here, or undefined. */
export function keyringMissing(): string | undefined {
  const absent = ['dbus-run-session', 'gnome-keyring-daemon', 'secret-tool'].filter((c) => !hasCommand(c));
  if (process.platform !== 'linux') return 'linux';
  return absent.length
    ? absent
        .map((c) => (c === 'secret-tool' ? 'libsecret-tools' : c === 'dbus-run-session' ? 'dbus' : 'gnome-keyring'))
        .join(', ')
    : undefined;
}

export interface SeedItem {
  service: string;
  account: string;
  label?: string;
  /** The comment attribute (where the tenant tag goes); absent = untagged. */
  comment?: string;
  secret: string;
  /** 'login' (the default, file-backed) or 'session' (in memory: much faster to seed). */
  collection?: 'login' | 'session';
}

export interface FoundItem {
  path: string;
  label: string;
  secret: string;
  attributes: Record<string, string>;
}

export interface Keyring {
  /** The temporary folder (HOME is <dir>/home). */
  dir: string;
  /** HOME, XDG_RUNTIME_DIR and DBUS_SESSION_BUS_ADDRESS of the session, over process.env. */
  env: NodeJS.ProcessEnv;
  store(item: SeedItem): Promise<void>;
  /** Seeds many items, a few secret-tool processes at a time. */
  storeAll(items: readonly SeedItem[], parallel?: number): Promise<void>;
  /** Every item of `service` with its secret, through `secret-tool search --all`. */
  search(service: string): Promise<FoundItem[]>;
  /** Ends the session (bus and keyring). The folder stays until cleanup(). */
  stop(): Promise<void>;
  cleanup(): Promise<void>;
}

interface StartOptions {
  /** Reuse this folder (a keyring made by an earlier session). */
  dir?: string;
  /** Start unlocked with keyringPassword (default), or leave the login keyring locked. */
  unlocked?: boolean;
}

export async function startKeyring(options: StartOptions = {}): Promise<Keyring> {
  const dir = options.dir ?? mkdtempSync(path.join(os.tmpdir(), 'tg-keyring-'));
  const home = path.join(dir, 'home');
  const runtime = path.join(dir, 'run');
  mkdirSync(home, { recursive: true });
  mkdirSync(runtime, { recursive: true });
  chmodSync(runtime, 0o700);
  const unlocked = options.unlocked ?? true;
  // An empty password would make gnome-keyring wait for a GUI prompt.
  const start = unlocked
    ? `printf '%s' "$TG_KEYRING_PASSWORD" | gnome-keyring-daemon --unlock --components=secrets --daemonize >/dev/null`
    : 'gnome-keyring-daemon --start --components=secrets --daemonize >/dev/null';
  const script = `${start} || exit 1\necho "TG_BUS=$DBUS_SESSION_BUS_ADDRESS"\nread _ignored\n`;
  const base: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    XDG_RUNTIME_DIR: runtime,
    TG_KEYRING_PASSWORD: keyringPassword,
  };
  delete base.DBUS_SESSION_BUS_ADDRESS;
  delete base.DISPLAY;
  const child: ChildProcess = spawn('dbus-run-session', ['--', 'sh', '-c', script], {
    env: base,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  // A session that ended on its own must not turn our closing of its stdin into a crash.
  child.stdin!.on('error', () => {});
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the keyring session did not start within 20 s:\n${output}`)),
      20_000,
    );
    child.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
      const m = /TG_BUS=(\S+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`the keyring session ended during start-up:\n${output}`));
    });
  });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    XDG_RUNTIME_DIR: runtime,
    DBUS_SESSION_BUS_ADDRESS: address,
  };
  delete env.DISPLAY;
  delete env.XDG_STATE_HOME;

  let stopped = false;
  const keyring: Keyring = {
    dir,
    env,
    async store(item) {
      const args = [
        'store',
        ...(item.collection === 'session' ? ['--collection=session'] : []),
        '--label',
        item.label ?? `${item.service} ${item.account}`,
        'service',
        item.service,
        'account',
        item.account,
      ];
      if (item.comment !== undefined) args.push('comment', item.comment);
      const r = await run('secret-tool', args, env, item.secret);
      if (r.code !== 0) throw new Error(`secret-tool store failed (${r.code}): ${r.stderr}`);
    },
    async storeAll(items, parallel = 4) {
      let next = 0;
      const worker = async () => {
        while (next < items.length) await keyring.store(items[next++]!);
      };
      await Promise.all(Array.from({ length: Math.min(parallel, items.length) }, worker));
    },
    async search(service) {
      // secret-tool writes the label and secret to stdout and the attributes to stderr: both
      // go to one pipe, stdout line-buffered, so that each item's lines stay together.
      const script = 'exec stdbuf -oL secret-tool search --all service "$1" 2>&1';
      const r = await run('sh', ['-c', script, 'sh', service], env);
      // secret-tool exits 1 when nothing matched.
      if (r.code !== 0 && r.stdout.trim() !== '') throw new Error(`secret-tool search failed (${r.code}): ${r.stdout}`);
      return parseSearch(r.stdout);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      child.stdin!.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
    async cleanup() {
      await keyring.stop();
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
  return keyring;
}

/** Runs a program with `input` on its stdin; a program that exits without reading it is no crash (EPIPE). */
function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  input = '',
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin!.on('error', () => {});
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin!.end(input);
  });
}

/** Parses `secret-tool search --all` output: "[path]" then "key = value" lines. */
export function parseSearch(text: string): FoundItem[] {
  const items: FoundItem[] = [];
  let current: FoundItem | null = null;
  for (const line of text.split('\n')) {
    const head = /^\[(.+)\]$/.exec(line);
    if (head) {
      current = { path: head[1]!, label: '', secret: '', attributes: {} };
      items.push(current);
      continue;
    }
    const m = /^(\S+) = (.*)$/.exec(line);
    if (!m || !current) continue;
    const [, key, value] = m as unknown as [string, string, string];
    if (key === 'label') current.label = value;
    else if (key === 'secret') current.secret = value;
    else if (key.startsWith('attribute.')) current.attributes[key.slice('attribute.'.length)] = value;
  }
  return items;
}
