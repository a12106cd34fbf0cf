// What `agentctl status` shows: each capability registers a section, a function returning a
// plain object with snake_case keys. A failing section reports its error and never hides
// the others; so does one too large for the answer: while the whole would pass the control
// channel's answer limit, the largest section is replaced by its own short error.
import { maxResponseBytes } from '../control/protocol.js';

export type SectionProvider = () => unknown;

/** Room kept in the answer for its envelope and for redaction markers. */
const envelopeBytes = 16 * 1024;

export class StatusRegistry {
  private readonly sections = new Map<string, SectionProvider>();

  /** `maxBytes`: what the whole answer may take (the control channel's limit). */
  constructor(private readonly maxBytes: number = maxResponseBytes) {}

  section(name: string, provider: SectionProvider): void {
    if (!/^[a-z][a-z0-9_]*$/.test(name)) throw new Error(`status section names are snake_case, got "${name}"`);
    if (this.sections.has(name)) throw new Error(`status section "${name}" is already registered`);
    this.sections.set(name, provider);
  }

  names(): string[] {
    return [...this.sections.keys()];
  }

  async collect(): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const [name, provider] of this.sections) {
      try {
        out[name] = await provider();
      } catch (error) {
        out[name] = { error: (error as Error).message };
      }
    }
    const sizes = new Map<string, number>();
    for (const [name, value] of Object.entries(out)) {
      try {
        sizes.set(name, Buffer.byteLength(JSON.stringify(value) ?? 'null'));
      } catch (error) {
        out[name] = { error: `the section cannot be serialized: ${(error as Error).message}` };
        sizes.set(name, 200);
      }
    }
    const budget = this.maxBytes - envelopeBytes;
    let total = [...sizes.values()].reduce((a, b) => a + b, 0);
    while (total > budget) {
      const [name, size] = [...sizes].reduce((a, b) => (b[1] > a[1] ? b : a));
      out[name] = {
        error: `this section is ${size} bytes, more than the status answer can hold (${this.maxBytes} bytes in all); the other sections are shown`,
        error_code: 'section_too_large',
      };
      sizes.set(name, 200);
      total += 200 - size;
    }
    return out;
  }
}
