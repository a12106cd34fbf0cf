// `agentctl doctor sso`: not built yet (SPEC §1.3).
import { exitCodes } from '../exit-codes.js';

export async function run(): Promise<number> {
  console.error("agentctl: 'doctor sso' is not yet implemented");
  return exitCodes.error;
}
