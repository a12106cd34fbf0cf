// One sentence per non-ok state that a support person can act on without knowing NTP.
// Sign convention: offset = reference − system, so a positive offset means the system clock is
// behind ("slow") and a negative one that it is ahead ("fast").
import type { Combination } from './combine.js';
import type { GuardrailState, SourceSample } from './types.js';
import { defaultRemediationCommand, serverPlaceholder } from './remediation.js';
import { direction, formatSkew } from './wording.js';

export { direction, formatSkew };

export interface HintInput {
  state: GuardrailState;
  combination: Combination;
  /** When the state is held by hysteresis: how many more low measurements clear it, and below what. */
  release?: { remaining: number; belowSeconds: number } | null;
  platform?: NodeJS.Platform;
  /** The configured remediation argv, shown instead of the default command when set. */
  remediationCommand?: readonly string[] | null;
}

/** "94 s", "2.5 s", "350 ms": precise where it matters, short where it does not. */

/** The host part of "host:port", "[v6]:port" or a URL. */
export function hostOf(source: Pick<SourceSample, 'kind' | 'address'>): string {
  if (source.kind === 'https') {
    try {
      return new URL(source.address).hostname.replace(/^\[|\]$/g, '');
    } catch {
      return source.address;
    }
  }
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(source.address);
  if (bracketed) return bracketed[1]!;
  const parts = source.address.split(':');
  return parts.length === 2 ? parts[0]! : source.address;
}

/** The NTP server a step should come from: the first agreeing NTP source. */
export function agreeingNtpHost(combination: Combination): string | null {
  const ntp = combination.agreeing.find((s) => s.kind === 'ntp');
  return ntp ? hostOf(ntp) : null;
}

/** Replaces the server placeholder in a configured command; null when it needs a server and none agrees. */
export function expandCommand(argv: readonly string[], server: string | null): string[] | null {
  // A host that starts with '-' would be read as an option by the program (sntp -…): never.
  if (server !== null && server.startsWith('-')) server = null;
  if (argv.some((a) => a.includes(serverPlaceholder)) && server === null) return null;
  return argv.map((a) => a.replaceAll(serverPlaceholder, server ?? ''));
}

/** The command a person should run to correct the clock now. */
export function manualCommand(
  combination: Combination,
  platform: NodeJS.Platform,
  configured?: readonly string[] | null,
): string {
  const server = agreeingNtpHost(combination);
  if (configured && configured.length > 0) {
    const argv = expandCommand(configured, server);
    if (argv) return `sudo ${argv.map(shellQuote).join(' ')}`;
  }
  const fallback = defaultRemediationCommand(platform);
  if (fallback) {
    // For people: the program by name (sntp), as Apple's documentation writes it.
    const [program, ...args] = expandCommand(fallback, server ?? 'time.apple.com')!;
    return `sudo ${[program!.split('/').pop()!, ...args].map(shellQuote).join(' ')}`;
  }
  return 'sudo chronyc makestep';
}

function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

function listAddresses(addresses: string[], max = 3): string {
  const shown = addresses.slice(0, max);
  const rest = addresses.length - shown.length;
  if (rest > 0) return `${shown.join(', ')} and ${rest} more`;
  if (shown.length <= 1) return shown.join('');
  return `${shown.slice(0, -1).join(', ')} and ${shown[shown.length - 1]}`;
}

function signed(offsetMs: number): string {
  return `${offsetMs >= 0 ? '+' : '−'}${formatSkew(offsetMs)}`;
}

/** The hint for a state; null for `ok`. */
export function hintFor(input: HintInput): string | null {
  const { state, combination: c } = input;
  const platform = input.platform ?? process.platform;
  if (state === 'ok') return null;
  if (state === 'uncertain' || c.offsetMs === null) return uncertainHint(c);
  const against = `against ${c.agreeing.length} of ${c.total} sources`;
  const disagreeing = c.falsetickers.length
    ? ` (${listAddresses(c.falsetickers.map((s) => s.address))} disagrees)`
    : '';
  const skew = `Clock is ${formatSkew(c.offsetMs)} ${direction(c.offsetMs)} ${against}${disagreeing}`;
  const command = manualCommand(c, platform, input.remediationCommand);
  if (input.release && input.release.remaining > 0) {
    const n = input.release.remaining;
    return `${skew}; the ${state} state clears after ${n} more measurement${n === 1 ? '' : 's'} below ${input.release.belowSeconds} s, or now with: ${command}`;
  }
  return `${skew}. Run: ${command}`;
}

function uncertainHint(c: Combination): string {
  // A duplicate entry did answer, through the entry it duplicates: it is counted once, not missing.
  const failed = c.failures.filter((f) => f.code !== 'duplicate').map((f) => f.address);
  const duplicates = c.failures.length - failed.length;
  const duplicatePart = duplicates
    ? `; ${duplicates} ${duplicates === 1 ? 'entry names a server' : 'entries name servers'} already counted`
    : '';
  switch (c.uncertainReason) {
    case 'no_sources':
      if (c.total === 0)
        return 'No time sources are configured: configure at least three NTP servers or HTTPS time URLs.';
      return `None of ${c.total} time sources answered (${c.failures[0]?.error ?? 'no reply'}): check network access to ${listAddresses(failed)}.`;
    case 'single_source':
      if (c.total === 1)
        return `Only one time source is configured (${c.agreeing[0]?.address}), and one source is never trusted alone: configure at least three.`;
      if (failed.length === 0)
        return `Only one independent time source is configured (${c.samples[0]?.address}${duplicatePart}), and one source is never trusted alone: configure at least three.`;
      return `Only 1 of ${c.total} time sources answered${duplicatePart}: check network access to ${listAddresses(failed)}.`;
    case 'no_agreement':
    case 'tie':
    case 'no_majority': {
      const said = c.samples.map((s) => `${s.address} says ${signed(s.offsetMs)}`);
      const missingPart = (failed.length ? `; ${failed.length} did not answer` : '') + duplicatePart;
      return `Time sources disagree (${listAddresses(said, 4)}${missingPart}): check which source is wrong, or configure more so that a majority can agree.`;
    }
    default:
      return 'No usable clock estimate: check the configured time sources.';
  }
}
