// What `agentctl status` shows: each capability registers a section, a function returning a
// plain object with snake_case keys. A failing section reports its error and never hides
// the others.
export type SectionProvider = () => unknown;

export class StatusRegistry {
  private readonly sections = new Map<string, SectionProvider>();

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
    return out;
  }
}
