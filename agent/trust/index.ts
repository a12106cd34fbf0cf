// Trust reporting as a capability (SPEC §1.2): native chain evaluation at the system time and
// at the clock guardrail's corrected time. Light on purpose: `agentctl status` and `--help`
// import this file; everything else is loaded on demand.
import type { Capability } from '../capability.js';
import { trustProblemCodes, trustProblems } from './problems.js';
import { trustView } from './status-view.js';

export const trust: Capability = {
  name: 'trust',
  config: async () => (await import('./config.js')).contribution,
  status: [
    {
      key: 'trust',
      title: 'Trust',
      absent: 'No data: this daemon does not run trust checks',
      view: trustView,
      problems: trustProblems,
      problemCodes: trustProblemCodes,
      verbose: ['last_check_reason', 'corrected_time'],
    },
  ],
  commands: [
    {
      name: 'trust',
      summary: 'evaluate the certificate chain of an https URL or a certificate file, now and at the corrected time',
      args: [
        {
          name: 'target',
          description: 'an https URL, or a certificate file (PEM bundle leaf first, or DER)',
          required: true,
        },
      ],
      flags: [
        { name: 'json', description: 'print JSON' },
        {
          name: 'ca',
          value: '<file>',
          multiple: true,
          description: 'extra trust anchors, PEM or DER (repeatable; default: TrustCAFiles)',
        },
        { name: 'anchors-only', description: "trust only the --ca anchors, not the system's roots" },
        {
          name: 'hostname',
          value: '<name>',
          description: 'the name the certificate must match (for a file: evaluate as a TLS server certificate)',
        },
        { name: 'at', value: '<ISO-8601>', description: 'also evaluate at this time (e.g. 2026-05-01T12:00:00Z)' },
        {
          name: 'ntp',
          value: '<host[:port]>',
          multiple: true,
          description: "also evaluate at this NTP server's time (repeatable)",
        },
        {
          name: 'revocation',
          value: '<mode>',
          choices: ['off', 'soft', 'require'],
          description: 'OCSP revocation checking (default: TrustRevocation)',
        },
        {
          name: 'config',
          value: '<file>',
          description: 'read TrustCAFiles, TrustRevocation, TrustOCSPAllowLocal and the NTP settings from this file',
        },
      ],
      needsRoot: false,
      needsDaemon: false,
      load: () => import('./trust-command.js'),
    },
  ],
  doctor: async () => (await import('./doctor.js')).checks,
  attach: async (daemon) => (await import('./service.js')).attachTrustChecks(daemon),
};
