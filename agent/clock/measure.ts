// One measurement round: every configured source at once, then the combination. The daemon keeps
// one TimeSources for as long as its configuration holds, so that what NTP servers asked for
// (Kiss-o'-Death RATE back-off, DENY/RSTR retirement) is remembered between rounds.
import { combine, type ClockMeasurement } from './combine.js';
import { HttpsTimeSource, type VerifyChain } from './https-time.js';
import { canonicalAddress, NtpSource, parseServerAddress } from './ntp-source.js';
import type { NtpSampleCode, SourceFailureCode } from './codes.js';
import type { SourceMeasurement } from './types.js';
import { serverTimeChainVerifier } from '../trust/verify-chain.js';

export interface TimeSourcesOptions {
  /** "host", "host:port" or "[v6]:port". */
  ntp: readonly string[];
  /** https URLs. */
  https: readonly string[];
  /** PEM file of extra CA certificates for the HTTPS sources. */
  caFile?: string;
  /** NTP samples per server (default 4). */
  samples?: number;
  /** NTP reply timeout (default 1000 ms). */
  timeoutMs?: number;
  /** Pause between one NTP server's samples (default 0). */
  sampleSpacingMs?: number;
  /** Whole HTTPS request timeout (default 5000 ms). */
  httpsTimeoutMs?: number;
  /** Checks an HTTPS source's chain at the server-reported time; default: the trust capability's native evaluation. */
  verifyChain?: VerifyChain;
  /** Debug detail: every rejected NTP reply, with its source and code. */
  onRejected?: (address: string, reason: string, code: NtpSampleCode) => void;
}

interface Source {
  address: string;
  measure(): Promise<SourceMeasurement>;
  /** NTP sources: asked once per (resolved address, port) per round. */
  ntp?: NtpSource;
}

/** A source whose configuration entry is unusable: it reports the problem each round. */
function brokenSource(kind: 'ntp' | 'https', address: string, code: SourceFailureCode, error: string): Source {
  return {
    address,
    measure: async () => ({ ok: false, kind, address, code, error, kissCode: null, measuredAtMs: Date.now() }),
  };
}

export class TimeSources {
  private readonly sources: Source[];

  constructor(options: TimeSourcesOptions) {
    const ntp = options.ntp.map((text): Source => {
      let parsed: { host: string; port: number };
      try {
        parsed = parseServerAddress(text);
      } catch (err) {
        return brokenSource('ntp', text, 'address_invalid', (err as Error).message);
      }
      try {
        const source = new NtpSource({
          ...parsed,
          samples: options.samples,
          timeoutMs: options.timeoutMs,
          sampleSpacingMs: options.sampleSpacingMs,
          onRejected: options.onRejected && ((reason, code) => options.onRejected!(text, reason, code)),
        });
        return { address: source.address, measure: () => source.measure(), ntp: source };
      } catch (err) {
        return brokenSource('ntp', text, 'options_invalid', (err as Error).message);
      }
    });
    const https = options.https.map(
      (url) =>
        new HttpsTimeSource({
          url,
          caFile: options.caFile,
          timeoutMs: options.httpsTimeoutMs,
          verifyChain: options.verifyChain ?? serverTimeChainVerifier({ caFile: options.caFile }),
        }),
    );
    this.sources = [...ntp, ...https];
  }

  get addresses(): string[] {
    return this.sources.map((s) => s.address);
  }

  /**
   * Measures all sources concurrently; never rejects. NTP entries that resolve to the same
   * address and port (listed twice, or spelled two ways) are one server: it is asked once and
   * counted once, and the other entries report `duplicate` — one server's word is never a
   * majority of two.
   */
  async measure(): Promise<ClockMeasurement> {
    const targets = await Promise.all(
      this.sources.map((s) => (s.ntp ? s.ntp.resolveTarget().catch(() => null) : Promise.resolve(null))),
    );
    const first = new Map<string, string>();
    const results = await Promise.all(
      this.sources.map((s, i): Promise<SourceMeasurement> => {
        const target = targets[i];
        if (!s.ntp || !target) return s.measure();
        const key = `${canonicalAddress(target.address)} ${s.ntp.serverPort}`;
        const same = first.get(key);
        if (same === undefined) {
          first.set(key, s.address);
          return s.ntp.measure(target);
        }
        const error = `the same server as ${same} (${canonicalAddress(target.address)} port ${s.ntp.serverPort}): asked and counted once`;
        return Promise.resolve({
          ok: false,
          kind: 'ntp',
          address: s.address,
          code: 'duplicate',
          error,
          kissCode: null,
          measuredAtMs: Date.now(),
        });
      }),
    );
    return { measuredAtMs: Date.now(), combination: combine(results) };
  }
}

/** One round against the given sources (for `agentctl time`). */
export function measureClock(options: TimeSourcesOptions): Promise<ClockMeasurement> {
  return new TimeSources(options).measure();
}
