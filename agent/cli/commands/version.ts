// `agentctl version`.
import { exitCodes } from '../../exit-codes.js';
import { productVersion } from '../../version.js';

export async function run(): Promise<number> {
  console.log(`agentctl ${productVersion()} (node ${process.versions.node}, ${process.platform}-${process.arch})`);
  return exitCodes.ok;
}
