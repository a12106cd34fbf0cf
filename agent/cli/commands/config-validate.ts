// `agentctl config validate FILE`: every problem of one file; exit 0 valid, 2 invalid.
import type { CommandInput } from '../../capability.js';
import { validateConfigFile } from '../../config/load.js';
import { exitCodes } from '../../exit-codes.js';

export async function run({ args }: CommandInput): Promise<number> {
  const file = args[0]!;
  const problems = await validateConfigFile(file);
  if (problems.length === 0) {
    console.log(`${file}: valid`);
    return exitCodes.ok;
  }
  console.error(`${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}`);
  for (const problem of problems) console.error(`  - ${problem}`);
  return exitCodes.checkFailed;
}
