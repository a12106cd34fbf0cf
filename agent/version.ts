// The product version, the one place it is read: package.json (dist/agent → the package root).
import { readFileSync } from 'node:fs';

let cached: string | undefined;
export function productVersion(): string {
  cached ??= (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string })
    .version;
  return cached;
}
