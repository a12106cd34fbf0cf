// One measurement round: every configured source at once, then the combination. The daemon keeps
// one TimeSources for as long as its configuration holds, so that what NTP servers asked for
// (Kiss-o'-Death RATE back-off, DENY/RSTR retirement) is remembered between rounds.
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import { combineWithPolicy, effectivePolicy, type TimeSourcePolicy } from './auth-policy.js';
import type { ClockMeasurement } from './combine.js';
import { HttpsTimeSource, httpsPeer, type PeerAddress, type VerifyChain } from './https-time.js';
import { canonicalAddress, NtpSource, parseServerAddress } from './ntp-source.js';
import { NtsSource, parseNtsServerAddress } from './nts-source.js';
import type { NtpSampleCode, SourceFailureCode } from './codes.js';
import type { SourceKind, SourceMeasurement } from './types.js';
import { serverTimeChainVerifier } from '../trust/verify-chain.js';

export interface TimeSourcesOptions {
  /** "host", "host:port" or "[v6]:port". */
  ntp: readonly string[];
  /** https URLs. */
  https: readonly string[];
  /** NTS servers (RFC 8915): "host", "host:port" (the NTS-KE port, default 4460) or "[v6]:port". */
  nts?: readonly string[];
  /** How authenticated and unauthenticated sources combine; default: prefer with NTS sources, else ignore. */
  policy?: TimeSourcePolicy | '';
  /** PEM file of extra CA certificates for the HTTPS sources and the NTS-KE servers. */
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
  /** Progress: called as each source finishes (`agentctl time` shows "2 of 3 answered"). */
  onSourceDone?: (done: number, total: number) => void;
}

/** The machine and port a source measures: what it is de-duplicated by. */
interface Peer {
  /** Every address the connection may go to (NTP: the one it asks; HTTPS: all the host resolved to). */
  addresses: PeerAddress[];
  port: number;
}

interface Source {
  kind: SourceKind;
  address: string;
  /** Resolves the peer for this round; null when there is none to resolve (the round reports why). */
  peer(): Promise<Peer | null>;
  /** `peer`: the one this round resolved and counted, so that the server asked is that one. */
  measure(peer: Peer | null): Promise<SourceMeasurement>;
}

/** A source whose configuration entry is unusable: it reports the problem each round. */
function brokenSource(kind: SourceKind, address: string, code: SourceFailureCode, error: string): Source {
  return {
    kind,
    address,
    peer: async () => null,
    measure: async () => ({ ok: false, kind, address, code, error, kissCode: null, measuredAtMs: Date.now() }),
  };
}

export class TimeSources {
  private readonly sources: Source[];
  readonly policy: TimeSourcePolicy;
  private readonly onSourceDone: TimeSourcesOptions['onSourceDone'];

  constructor(options: TimeSourcesOptions) {
    this.onSourceDone = options.onSourceDone;
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
        return {
          kind: 'ntp',
          address: source.address,
          peer: async () => ({ addresses: [await source.resolveTarget()], port: source.serverPort }),
          measure: (peer) => source.measure(peer?.addresses[0]),
        };
      } catch (err) {
        return brokenSource('ntp', text, 'options_invalid', (err as Error).message);
      }
    });
    const https = options.https.map((url): Source => {
      const source = new HttpsTimeSource({
        url,
        caFile: options.caFile,
        timeoutMs: options.httpsTimeoutMs,
        verifyChain: options.verifyChain ?? serverTimeChainVerifier({ caFile: options.caFile }),
      });
      return {
        kind: 'https',
        address: source.address,
        peer: () => resolveHttpsPeer(url),
        measure: (peer) => source.measure(peer?.addresses),
      };
    });
    const verifyChain = options.verifyChain ?? serverTimeChainVerifier({ caFile: options.caFile });
    const nts = (options.nts ?? []).map((text): Source => {
      let parsed: { host: string; port: number };
      try {
        parsed = parseNtsServerAddress(text);
      } catch (err) {
        return brokenSource('nts', text, 'address_invalid', (err as Error).message);
      }
      try {
        const source = new NtsSource({
          ...parsed,
          samples: options.samples,
          timeoutMs: options.timeoutMs,
          sampleSpacingMs: options.sampleSpacingMs,
          verifyChain,
          caFile: options.caFile,
        });
        return {
          kind: 'nts',
          address: source.address,
          // De-duplicated by the NTP server it measures (NTS-KE names it): the same server as a
          // plain NTP entry is one source.
          peer: async () => {
            const target = await source.prepare();
            return target && { addresses: [{ address: target.address, family: target.family }], port: target.port };
          },
          measure: () => source.measure(),
        };
      } catch (err) {
        return brokenSource('nts', text, 'options_invalid', (err as Error).message);
      }
    });
    this.sources = [...nts, ...ntp, ...https];
    this.policy = effectivePolicy(options.policy, options.nts?.length ?? 0);
  }

  get addresses(): string[] {
    return this.sources.map((s) => s.address);
  }

  /**
   * Measures all sources concurrently; never rejects. Every source is de-duplicated by the peer
   * it measures, whatever its kind: resolved address and port (an HTTPS URL: every address its
   * host resolves to, and its port). Entries that reach a peer already counted (listed twice,
   * spelled two ways, three URLs on one server) are one source: asked once and counted once, and
   * the other entries report `duplicate` — one server's word is never a majority.
   */
  async measure(): Promise<ClockMeasurement> {
    const peers = await Promise.all(this.sources.map((s) => s.peer().catch(() => null)));
    const counted = new Map<string, string>();
    let done = 0;
    const report = <T>(result: T): T => {
      this.onSourceDone?.(++done, this.sources.length);
      return result;
    };
    const results = await Promise.all(
      this.sources.map((s, i): Promise<SourceMeasurement> => {
        const peer = peers[i] ?? null;
        if (!peer) return s.measure(null).then(report);
        const keys = peer.addresses.map((a) => `${canonicalAddress(a.address)} ${peer.port}`);
        const seen = keys.findIndex((key) => counted.has(key));
        if (seen < 0) {
          for (const key of keys) counted.set(key, s.address);
          return s.measure(peer).then(report);
        }
        const same = counted.get(keys[seen]!)!;
        const where = `${canonicalAddress(peer.addresses[seen]!.address)} port ${peer.port}`;
        return Promise.resolve(
          report<SourceMeasurement>({
            ok: false,
            kind: s.kind,
            address: s.address,
            code: 'duplicate',
            error: `the same server as ${same} (${where}): asked and counted once`,
            kissCode: null,
            measuredAtMs: Date.now(),
          }),
        );
      }),
    );
    return { measuredAtMs: Date.now(), combination: combineWithPolicy(results, this.policy) };
  }
}

/**
 * What an https URL's host resolves to (all addresses, as the connection may use any) and its
 * port; null for a URL measureHttpsTime will refuse, or a name that does not resolve (the round
 * then reports `url_invalid` or `dns`).
 */
async function resolveHttpsPeer(url: string): Promise<Peer | null> {
  const target = httpsPeer(url);
  if (!target) return null;
  const literal = net.isIP(target.host);
  if (literal === 4 || literal === 6)
    return { addresses: [{ address: target.host, family: literal }], port: target.port };
  const found = await lookup(target.host, { all: true });
  if (found.length === 0) return null;
  return {
    addresses: found.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 })),
    port: target.port,
  };
}

/** One round against the given sources (for `agentctl time`). */
export function measureClock(options: TimeSourcesOptions): Promise<ClockMeasurement> {
  return new TimeSources(options).measure();
}
