// `agentctl flare`: the support bundle a support person attaches to a ticket (Kolide's flare):
// versions, `status --json`, `doctor --json`, `config show` (redacted), the last lines of the
// agent's log, launchd's view of the job (macOS), the OS version, and a manifest with each
// file's SHA-256. Bounded (each file and the whole); run as a user, it is a reduced bundle and
// says what it left out. No configured secret reaches any file: every file's text is cut of
// the secrets the configuration holds (values of secret keys, the content of secret files, URL
// userinfo and query values) and of credentials in any text (agent/log/redact.ts).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { domain } from '../config/defaults.js';
import { keyTable } from '../config/keys.js';
import { describeConfig, readConfigFile, type LoadResult } from '../config/load.js';
import { request } from '../control/client.js';
import { redactFields, redactMessage } from '../log/redact.js';
import { isRoot } from '../process.js';
import { checksJson, runChecks, allChecks, type GatheredContext } from './doctor.js';
import { statusJson } from './status.js';
import { versions } from './versions.js';

export const flareLimits = {
  /** The agent log's tail: at most this many lines… */
  maxLines: 100_000,
  defaultLines: 2000,
  /** …and at most this many bytes of it. */
  logBytes: 4 << 20,
  /** Any other file. */
  fileBytes: 1 << 20,
} as const;

export interface FlareFile {
  name: string;
  data: Buffer;
}

export interface Flare {
  files: FlareFile[];
  /** What a reduced bundle left out, one sentence each. */
  missing: string[];
}

/** Every form in which a secret may appear in a file: as is, JSON-escaped, URL-encoded. */
function forms(secret: string): string[] {
  const out = new Set([secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret)]);
  return [...out].filter((f) => f.length >= 4);
}

function urlSecrets(value: string): string[] {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return [];
  }
  const out: string[] = [];
  if (url.username) out.push(decodeURIComponent(url.username));
  if (url.password) out.push(decodeURIComponent(url.password));
  for (const [, v] of url.searchParams) if (v) out.push(v);
  return out;
}

function readBounded(file: string, maxBytes: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    return buffer;
  } finally {
    closeSync(fd);
  }
}

/**
 * The secrets the configuration holds: values of secret keys, the content of files named by
 * keys that hold a secret file (…TokenFile, …KeyFile, …SecretFile, …PasswordFile), and URL
 * userinfo and query values — from the effective configuration and from the files as written
 * (a value the validation refused is still in the file).
 */
export async function configuredSecrets(loaded: LoadResult): Promise<string[]> {
  const { keys } = keyTable();
  const layers: Array<Record<string, unknown>> = [loaded.config as Record<string, unknown>];
  for (const file of loaded.files) {
    try {
      layers.push(await readConfigFile(file));
    } catch {
      // Unreadable now: its values are not in the bundle either.
    }
  }
  const secrets = new Set<string>();
  const visit = (name: string, value: unknown) => {
    if (typeof value === 'string' && value) {
      if (keys[name]?.secret) secrets.add(value.trim()).add(value);
      for (const s of urlSecrets(value)) secrets.add(s);
      if (/(Token|Key|Secret|Password)File$/.test(name)) {
        try {
          const text = readBounded(value, 256 << 10).toString('utf8');
          secrets.add(text.trim());
          for (const line of text.split('\n'))
            if (line.trim().length >= 8 && !line.startsWith('-----')) secrets.add(line.trim());
        } catch {
          // Unreadable for this user: it cannot reach the bundle.
        }
      }
    } else if (Array.isArray(value)) for (const v of value) visit(name, v);
  };
  for (const layer of layers) for (const [name, value] of Object.entries(layer)) visit(name, value);
  return [...secrets].filter((s) => s.length >= 4);
}

/** Cuts every known secret (in each of its forms) and any credential-looking text. */
export function scrubText(text: string, secrets: readonly string[]): string {
  let out = text;
  const all = secrets.flatMap(forms).sort((a, b) => b.length - a.length);
  for (const s of all) out = out.split(s).join('<redacted>');
  return out
    .split('\n')
    .map((line) => redactMessage(line))
    .join('\n');
}

function launchctlPrint(): Promise<string> {
  return new Promise((resolve) => {
    execFile(
      '/bin/launchctl',
      ['print', `system/${domain}`],
      { timeout: 5000, maxBuffer: flareLimits.fileBytes },
      (error, stdout, stderr) => resolve(error ? `launchctl print failed: ${error.message}\n${stderr}` : stdout),
    );
  });
}

export interface FlareOptions {
  context: GatheredContext;
  loaded: LoadResult;
  socketPath: string;
  lines: number;
  progress?: (text: string) => void;
}

export async function buildFlare(options: FlareOptions): Promise<Flare> {
  const { context, loaded } = options;
  const progress = options.progress ?? (() => {});
  const root = isRoot();
  const missing: string[] = [];
  const secrets = await configuredSecrets(loaded);
  const raw: Array<{ name: string; text: string }> = [];
  const json = (name: string, value: unknown) =>
    raw.push({ name, text: `${JSON.stringify(redactFields(value), null, 2)}\n` });

  const status = context.status;
  json(
    'versions.json',
    versions(
      typeof (status?.daemon as { version?: unknown })?.version === 'string'
        ? String((status!.daemon as { version: string }).version)
        : null,
    ),
  );
  json('status.json', status ? statusJson(status) : { error: context.statusError ?? 'the daemon did not answer' });
  progress('running the doctor checks…');
  const at = new Date();
  json('doctor.json', checksJson(await runChecks(await allChecks(), context), at));

  // The configuration in force: the daemon's (already redacted) when it answers, else the files'.
  let config: unknown;
  try {
    const response = await request(options.socketPath, 'config', {}, 5000);
    config = response.ok ? { origin: 'daemon', ...(response.result as object) } : undefined;
  } catch {
    config = undefined;
  }
  config ??= { origin: 'files', files: loaded.files, problems: loaded.problems, keys: describeConfig(loaded) };
  json('config.json', config);

  json('os.json', {
    hostname: os.hostname(),
    platform: process.platform,
    release: os.release(),
    version: os.version(),
    arch: process.arch,
    uptime_s: Math.round(os.uptime()),
    user: root ? 'root' : `uid ${process.getuid?.() ?? '?'}`,
    collected_at: at.toISOString(),
  });

  progress('reading the agent log…');
  const logFile = path.join(String(loaded.config.LogDirectory), 'agent.log');
  try {
    const tail = readBounded(logFile, flareLimits.logBytes).toString('utf8').split('\n');
    // The first line may be cut by the byte bound: drop it unless the whole file fitted.
    const lines = tail.length > options.lines ? tail.slice(-options.lines - 1) : tail;
    raw.push({ name: 'agent.log', text: lines.join('\n') });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    missing.push(
      code === 'EACCES' || code === 'EPERM'
        ? `the agent log (${logFile}): only root can read it; run sudo agentctl flare`
        : `the agent log (${logFile}): ${code ?? (error as Error).message}`,
    );
  }
  if (process.platform === 'darwin') {
    if (root) raw.push({ name: 'launchctl-print.txt', text: await launchctlPrint() });
    else missing.push("launchd's view of the job (launchctl print system/…): root only; run sudo agentctl flare");
  }
  if (!root)
    missing.push(
      'secret files (the token file, client key) were not readable: the telemetry check may fail for that reason alone',
    );

  const files: FlareFile[] = raw.map(({ name, text }) => {
    let data = Buffer.from(scrubText(text, secrets), 'utf8');
    const limit = name === 'agent.log' ? flareLimits.logBytes : flareLimits.fileBytes;
    if (data.length > limit) data = Buffer.concat([data.subarray(0, limit), Buffer.from('\n[cut: file limit]\n')]);
    return { name, data };
  });
  const manifest = {
    bundle: 'trustguard-flare',
    version: 1,
    created_at: at.toISOString(),
    reduced: missing.length > 0,
    missing,
    files: files.map((f) => ({
      name: f.name,
      bytes: f.data.length,
      sha256: createHash('sha256').update(f.data).digest('hex'),
    })),
  };
  files.push({ name: 'manifest.json', data: Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`) });
  return { files, missing };
}
