// How an offset is said, in one place: hints and logs round it ("92 s slow"), status rows
// keep its precision ("92.000 s slow"). Offset = reference − system: positive means the
// system clock is behind (slow). Light on purpose: `agentctl status` imports it.

export function direction(offsetMs: number): 'slow' | 'fast' {
  return offsetMs > 0 ? 'slow' : 'fast';
}

/** The size of a skew for a sentence: "94 s", "1.5 s", "120 ms". */
export function formatSkew(offsetMs: number): string {
  const abs = Math.abs(offsetMs);
  if (abs >= 10_000) return `${Math.round(abs / 1000)} s`;
  if (abs >= 1_000) return `${(abs / 1000).toFixed(1)} s`;
  return `${Math.round(abs)} ms`;
}

/** For a status row: "92.000 s slow", "0.4 ms fast", "on time". */
export function describeOffset(offsetMs: number): string {
  const size = Math.abs(offsetMs);
  const text = size >= 1000 ? `${(size / 1000).toFixed(3)} s` : `${size.toFixed(1)} ms`;
  return size < 0.05 ? 'on time' : `${text} ${direction(offsetMs)}`;
}
