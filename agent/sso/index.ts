// The SSO extension doctor (SPEC §1.3): not built yet. Its command is listed so that
// `agentctl --help` shows what is coming and `agentctl doctor sso` says so. The profile
// pre-flight is `agentctl doctor profile` (agent/profiles/); the static checks of SSO payloads
// it shares with this doctor are agent/profiles/sso-checks.ts.
import type { Capability } from '../capability.js';

export const sso: Capability = {
  name: 'sso',
  commands: [
    {
      name: 'doctor sso',
      summary: 'check the SSO extension setup (not yet implemented)',
      needsRoot: false,
      needsDaemon: false,
      load: () => import('./doctor-command.js'),
    },
  ],
};
