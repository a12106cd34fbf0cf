// `agentd --session`: the same program as the per-user LaunchAgent. It runs each capability's
// session work (Capability.session) once, as the logged-in user, in turn, and exits with the
// largest exit code: no lock, no control sockets, no daemon log (each capability logs its own).
import type { SessionOptions } from '../capability.js';

export async function runSession(options: SessionOptions): Promise<void> {
  const { capabilities } = await import('../capabilities.js');
  let code = 0;
  for (const capability of capabilities) {
    if (!capability.session) continue;
    try {
      code = Math.max(code, await capability.session(options));
    } catch (error) {
      console.error(`agentd --session: ${capability.name}: ${(error as Error).message}`);
      code = 1;
    }
  }
  // Exit once the output is written (stdout may be an asynchronous pipe); at most 2 s later.
  process.exitCode = code;
  setTimeout(() => process.exit(code), 2000).unref();
}
