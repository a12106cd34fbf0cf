// The agentctl commands other than status, each loaded only when used.
import { readFile } from 'node:fs/promises';
import { DaemonUnreachableError, request } from '../control/client.js';
import { renderSection, styleFor } from './format.js';
import { adminSocketPath, chooseSocket, unreachableMessage } from './socket.js';
import { exitCodes } from './status.js';

export async function runConfigShow(options: { json?: boolean; socket?: string; config?: string }): Promise<number> {
  const { describeConfig, loadConfig } = await import('../config/load.js');
  // A running daemon is asked first: its configuration in force may be a last good one
  // that differs from the files on disk.
  const socket = await chooseSocket(options);
  let origin: string;
  let shown: { files: string[]; problems: string[]; keys: Record<string, { value: unknown; source: string }> };
  try {
    const response = await request(socket.path, 'config');
    if (!response.ok) throw new Error(response.error.message);
    shown = response.result as typeof shown;
    origin = `the running daemon (${socket.path})`;
  } catch (error) {
    if (!(error instanceof DaemonUnreachableError)) throw error;
    const loaded = await loadConfig({ configFile: options.config });
    shown = { files: loaded.files, problems: loaded.problems, keys: describeConfig(loaded) };
    origin = 'the configuration files (the daemon is not running)';
  }
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ origin: origin.startsWith('the running') ? 'daemon' : 'files', files: shown.files, problems: shown.problems, keys: shown.keys }, null, 2)}\n`);
    return exitCodes.ok;
  }
  const style = styleFor(process.stdout);
  const width = Math.max(...Object.keys(shown.keys).map((k) => k.length));
  const rows = Object.entries(shown.keys).map(([key, { value, source }]): [string, string] => [key, `${JSON.stringify(value)}  (${source})`]);
  const out = [`Effective configuration from ${origin}`, `Files: ${shown.files.length ? shown.files.join(', ') : 'none (defaults)'}`, renderSection('Configuration', rows, style, width)];
  if (shown.problems.length) out.push(renderSection('Problems', shown.problems.map((p): [string, string] => ['-', p]), style, 1));
  process.stdout.write(`${out.join('\n')}\n`);
  return exitCodes.ok;
}

export async function runConfigValidate(file: string): Promise<number> {
  const { validateConfigFile } = await import('../config/load.js');
  const problems = await validateConfigFile(file);
  if (problems.length === 0) {
    console.log(`${file}: valid`);
    return exitCodes.ok;
  }
  console.error(`${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}`);
  for (const problem of problems) console.error(`  - ${problem}`);
  return exitCodes.error;
}

export async function runReload(options: { socket?: string; config?: string }): Promise<number> {
  const socket = await chooseSocket(options);
  const admin = adminSocketPath(socket.path);
  let response;
  try {
    response = await request(admin, 'reload');
  } catch (error) {
    if (error instanceof DaemonUnreachableError && error.code === 'EACCES') {
      console.error(`agentctl: reload changes the daemon and needs root (permission denied on ${admin}); run: sudo agentctl reload`);
      return exitCodes.error;
    }
    if (error instanceof DaemonUnreachableError) {
      console.error(unreachableMessage(admin, error.code));
      return exitCodes.error;
    }
    throw error;
  }
  if (!response.ok) {
    console.error(`agentctl: reload refused: ${response.error.message}`);
    return exitCodes.error;
  }
  const result = response.result as { changed: string[]; problems: string[]; kept_previous: boolean };
  console.log(result.changed.length ? `Reloaded; changed: ${result.changed.join(', ')}` : 'Reloaded; nothing changed');
  if (result.kept_previous) console.log('A configuration file did not parse: the last good configuration stays in force.');
  for (const problem of result.problems) console.log(`  - ${problem}`);
  return result.problems.length ? exitCodes.error : exitCodes.ok;
}

export async function runVersion(): Promise<number> {
  const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  console.log(`agentctl ${pkg.version} (node ${process.versions.node}, ${process.platform}-${process.arch})`);
  return exitCodes.ok;
}

async function configFor(file: string | undefined) {
  const { loadConfig } = await import('../config/load.js');
  const loaded = await loadConfig({ configFile: file });
  for (const problem of loaded.problems) console.error(`agentctl: configuration: ${problem}`);
  return loaded.config;
}

export async function runTime(options: { json?: boolean; ntp?: string[]; https?: string[]; ca?: string; samples?: number; timeout?: number; spacing?: number; config?: string }): Promise<number> {
  const { runTimeCommand } = await import('../clock/cli.js');
  const config = await configFor(options.config);
  return runTimeCommand({
    json: options.json ?? false,
    ntp: options.ntp ?? [],
    https: options.https ?? [],
    ca: options.ca ?? (config.HTTPSTimeCAFile || undefined),
    samples: options.samples ?? config.NTPSamplesPerServer,
    timeout: options.timeout ?? config.NTPTimeoutMilliseconds,
    sampleSpacingMs: options.spacing ?? config.NTPSampleSpacingMilliseconds,
    configuredNtp: config.NTPServers,
    configuredHttps: config.HTTPSTimeURLs,
    thresholds: { warnSeconds: config.WarnThresholdSeconds, enforceSeconds: config.EnforceThresholdSeconds },
  });
}

export async function runCompliance(options: { format: 'jamf' | 'intune' | 'json'; config?: string }): Promise<number> {
  const { runComplianceCommand } = await import('../clock/cli.js');
  const config = await configFor(options.config);
  return runComplianceCommand({ format: options.format, stateDir: config.StateDirectory });
}
