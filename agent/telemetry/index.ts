// Telemetry (SPEC §1.6): events to a central OpenTelemetry collector over OTLP/HTTP, kept in a
// durable on-disk queue while the collector is away. Light on purpose: `agentctl status` and
// `--help` import this file; everything else is loaded on demand.
import type { Capability, FlagSpec } from '../capability.js';
import { telemetryProblemCodes, telemetryProblems } from './problems.js';
import { telemetryView } from './status-view.js';

const socketFlags: FlagSpec[] = [
  { name: 'socket', value: '<path>', description: 'the daemon control socket (the admin socket is <path>.admin)' },
  { name: 'config', value: '<file>', description: 'find the socket through this configuration file' },
];

export const telemetry: Capability = {
  name: 'telemetry',
  config: async () => (await import('./config.js')).contribution,
  status: [
    {
      key: 'telemetry',
      title: 'Telemetry',
      absent: 'No data: this daemon does not run telemetry',
      view: telemetryView,
      problems: telemetryProblems,
      problemCodes: telemetryProblemCodes,
    },
  ],
  commands: [
    {
      name: 'telemetry flush',
      summary: 'send a heartbeat and upload the queued events now, and confirm the upload (root only)',
      flags: [
        { name: 'json', description: 'print the Telemetry section as JSON' },
        {
          name: 'wait',
          value: '<s>',
          integer: { min: 0, max: 600 },
          description: 'wait this long for the collector to confirm (default 30; 0: do not wait)',
        },
        ...socketFlags,
      ],
      needsRoot: true,
      needsDaemon: true,
      load: () => import('./flush-command.js'),
    },
    {
      name: 'telemetry test',
      summary: 'queue test events (telemetry.test) and confirm they reach the collector (root only)',
      flags: [
        { name: 'count', value: '<n>', integer: { min: 1, max: 10000 }, description: 'how many events (default 1)' },
        { name: 'json', description: 'print their event IDs and sequence numbers as JSON' },
        {
          name: 'wait',
          value: '<s>',
          integer: { min: 0, max: 600 },
          description: 'wait this long for the collector to confirm (default 30; 0: do not wait)',
        },
        ...socketFlags,
      ],
      needsRoot: true,
      needsDaemon: true,
      load: () => import('./test-command.js'),
    },
  ],
  doctor: async () => (await import('./doctor.js')).checks,
  attach: async (daemon) => (await import('./service.js')).attachTelemetry(daemon),
};
