// The SSO extension doctor and profile pre-flight (SPEC §1.3): not built yet. Its command is
// listed so that `agentctl --help` shows what is coming and `agentctl doctor` says so.
import type { Capability } from '../capability.js';

export const sso: Capability = {
  name: 'sso',
  commands: [
    {
      name: 'doctor',
      summary: 'check the SSO extension setup (not yet implemented)',
      args: [{ name: 'what', description: 'sso, or profile FILE...', variadic: true }],
      needsRoot: false,
      needsDaemon: false,
      load: () => import('./doctor-command.js'),
    },
  ],
};
