#!/usr/bin/env node
// agentctl: the support-staff CLI. The commands arrive with their capabilities.
import { readFileSync } from 'node:fs';

const [command] = process.argv.slice(2);
if (command === 'version') {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  console.log(`agentctl ${pkg.version}`);
  process.exit(0);
}
console.error(`agentctl: '${command ?? ''}' is not yet implemented`);
process.exit(1);
