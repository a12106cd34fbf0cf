// The chain check of HTTPS time sources (SPEC §1.1): the server's chain is evaluated natively
// at the *server-reported* time, so a skewed local clock cannot make the time source itself look
// untrustworthy. agent/clock/measure.ts plugs this in through https-time.ts's `verifyChain` hook.
import { caFileLimits, readCertificateFile } from './certificates.js';
import { evaluateChain } from './evaluate.js';

export type ChainVerdict = { ok: true } | { ok: false; reason: string };

/**
 * A verifier for HTTPS time sources: policy ssl for the URL's host, the system's roots plus the
 * certificates of `caFile` (read at each check, as Node's TLS did), at `atTimeMs`.
 */
export function serverTimeChainVerifier(options: { caFile?: string } = {}) {
  return async (certificates: Buffer[], atTimeMs: number, hostname: string): Promise<ChainVerdict> => {
    let anchors: Buffer[] | undefined;
    if (options.caFile !== undefined) {
      try {
        anchors = await readCertificateFile(options.caFile, caFileLimits);
      } catch (error) {
        return { ok: false, reason: `CA file: ${(error as Error).message}` };
      }
    }
    if (certificates.length === 0) return { ok: false, reason: 'the server sent no certificate' };
    const result = await evaluateChain({
      chain: certificates.slice(0, 64),
      policy: 'ssl',
      hostname,
      anchors,
      verifyDate: atTimeMs,
    });
    if (result.trusted) return { ok: true };
    const headline = result.faults.find((f) => f.code === result.diagnosis);
    return { ok: false, reason: `${result.diagnosis} (${headline?.message ?? result.evaluation.result})` };
  };
}
