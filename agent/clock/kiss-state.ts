// What a server's Kiss-o'-Death asked of a source (RFC 5905 §7.4; for NTS only an authenticated
// kiss reaches here, RFC 8915 §5.7), shared by ntp-source.ts and nts-source.ts: DENY or RSTR
// retire the source until it is reconfigured; RATE backs it off, first `rateBackoffMs`, doubling
// on each further RATE up to 64×, and a round that answers without RATE ends the back-off.
import type { SourceFailureCode } from './codes.js';

const MAX_BACKOFF_DOUBLINGS = 6;

export class KissState {
  /** Set by DENY or RSTR: the source sends nothing again. */
  private retirement: { reason: string; kissCode: 'DENY' | 'RSTR' } | null = null;
  private backoffUntilNs: bigint | null = null;
  private backoffDoublings = 0;

  constructor(
    private readonly rateBackoffMs = 64_000,
    /** Monotonic clock (ns) that times the back-off. */
    private readonly clockNs: () => bigint = process.hrtime.bigint,
  ) {}

  /** The kiss that retired the source, or null while it is in use. */
  get retired(): { reason: string; kissCode: 'DENY' | 'RSTR' } | null {
    return this.retirement;
  }

  /** Why the source may not ask now (retired, or backing off), or null when it may. */
  holdsBack(): { code: SourceFailureCode; reason: string; kissCode: string } | null {
    if (this.retirement !== null) {
      const { reason, kissCode } = this.retirement;
      return { code: kissCode === 'DENY' ? 'retired_deny' : 'retired_rstr', reason, kissCode };
    }
    if (this.backoffUntilNs === null) return null;
    const leftNs = this.backoffUntilNs - this.clockNs();
    if (leftNs <= 0n) return null;
    const leftS = Math.ceil(Number(leftNs) / 1e9);
    return {
      code: 'rate_backoff',
      reason: `server asked us to slow down (Kiss-o'-Death RATE); not asking it again for ${leftS} s`,
      kissCode: 'RATE',
    };
  }

  /** A kiss the server sent (its code and our sentence for it). */
  obey(code: string, reason: string): void {
    if (code === 'DENY' || code === 'RSTR') {
      this.retirement = { reason: `${reason}; not used again until reconfigured`, kissCode: code };
    } else if (code === 'RATE') {
      const backoffMs = this.rateBackoffMs * 2 ** this.backoffDoublings;
      this.backoffDoublings = Math.min(this.backoffDoublings + 1, MAX_BACKOFF_DOUBLINGS);
      this.backoffUntilNs = this.clockNs() + BigInt(Math.round(backoffMs * 1e6));
    }
  }

  /** A round that gave samples: unless the server also sent RATE, the back-off is over. */
  answered(worstKissCode: string | null | undefined): void {
    if (worstKissCode === 'RATE') return;
    this.backoffDoublings = 0;
    this.backoffUntilNs = null;
  }
}
