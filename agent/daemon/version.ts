// The product version, from package.json (dist/agent/daemon → the package root).
import { readFileSync } from 'node:fs';

let cached: string | undefined;
export function productVersion(): string {
  cached ??= (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return cached;
}
