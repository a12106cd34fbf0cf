// The shared-device keychain scrub as a capability (SPEC §1.4). Light on purpose: `agentctl
// status` and `--help` import this file; the scrub, its keys and the daemon side are loaded on
// demand.
import type { Capability } from '../capability.js';
import { keychainProblemCodes, keychainProblems } from './problems.js';
import { keychainView } from './status-view.js';

export const keychain: Capability = {
  name: 'keychain',
  config: async () => (await import('./config.js')).contribution,
  status: [
    {
      key: 'keychain',
      title: 'Keychain',
      absent: 'No data: this daemon does not run the keychain scrub',
      view: keychainView,
      problems: keychainProblems,
      problemCodes: keychainProblemCodes,
    },
  ],
  commands: [
    {
      name: 'scrub',
      summary: "delete (or, dry-run, list) the previous tenant's SSO keychain items in this user's keychain",
      flags: [
        { name: 'dry-run', description: 'only list what would be deleted (default unless ScrubMode is "enforce")' },
        { name: 'json', description: 'print JSON' },
        { name: 'tenant', value: '<domain>', description: 'the current tenant (default: TenantDomain)' },
        {
          name: 'service',
          value: '<name>',
          multiple: true,
          description: 'a service to scrub (repeatable; default: ScrubServices)',
        },
        { name: 'config', value: '<file>', description: 'read the configuration from this file' },
        { name: 'socket', value: '<path>', description: 'the daemon control socket to report to' },
      ],
      needsRoot: false,
      needsDaemon: false,
      load: () => import('./scrub-command.js'),
    },
  ],
  doctor: async () => (await import('./doctor.js')).checks,
  attach: async (daemon) => void (await import('./service.js')).attachKeychain(daemon),
  session: async (options) => (await import('./session-run.js')).runSession(options),
};
