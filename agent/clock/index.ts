// The clock-skew guardrail as a capability (SPEC §1.1). Light on purpose: `agentctl status`
// and `--help` import this file; everything else is loaded on demand.
import type { Capability } from '../capability.js';
import { exitCodes } from '../exit-codes.js';
import { clockProblemCodes, clockProblems, complianceProblemCodes, complianceProblems } from './problems.js';
import { clockView, complianceView } from './status-view.js';

const configFlag = {
  name: 'config',
  value: '<file>',
  description: 'read the configured sources and thresholds from this file',
} as const;

export const clock: Capability = {
  name: 'clock',
  config: async () => (await import('./config.js')).contribution,
  status: [
    {
      key: 'clock',
      title: 'Clock',
      absent: 'No data: this daemon does not run the clock guardrail',
      view: clockView,
      problems: clockProblems,
      problemCodes: clockProblemCodes,
      verbose: ['falsetickers', 'kernel_ntp', 'last_check_reason'],
      exitCode: (section: { state?: unknown }) => (section.state === 'active' ? exitCodes.guardrail : exitCodes.ok),
    },
    {
      key: 'compliance',
      title: 'Compliance',
      absent: 'No data: the clock guardrail has not reported',
      view: complianceView,
      problems: complianceProblems,
      problemCodes: complianceProblemCodes,
      exitCode: (section: { compliant?: unknown; state?: unknown }) =>
        section.compliant === false || section.state === 'non_compliant' ? exitCodes.guardrail : exitCodes.ok,
    },
  ],
  commands: [
    {
      name: 'time',
      summary: 'measure the clock against the time sources now (standalone, no daemon needed)',
      flags: [
        { name: 'json', description: 'print JSON' },
        {
          name: 'ntp',
          value: '<host[:port]>',
          multiple: true,
          description: 'an NTP server (repeatable; default: the configured ones)',
        },
        {
          name: 'https',
          value: '<url>',
          multiple: true,
          description: 'an HTTPS time source (repeatable; default: the configured ones)',
        },
        {
          name: 'nts',
          value: '<host[:port]>',
          multiple: true,
          description: 'an NTS server (NTS-KE port, default 4460; repeatable)',
        },
        {
          name: 'ca',
          value: '<file>',
          description: 'extra CA certificates (PEM) for HTTPS and NTS-KE servers',
        },
        { name: 'samples', value: '<n>', integer: { min: 1, max: 16 }, description: 'NTP samples per server' },
        {
          name: 'timeout',
          value: '<ms>',
          integer: { min: 100, max: 30000 },
          description: 'NTP reply timeout in milliseconds',
        },
        {
          name: 'spacing',
          value: '<ms>',
          integer: { min: 0, max: 10000 },
          description: "pause between one server's samples in milliseconds (default: NTPSampleSpacingMilliseconds)",
        },
        configFlag,
      ],
      needsRoot: false,
      needsDaemon: false,
      load: () => import('./time-command.js'),
    },
    {
      name: 'compliance',
      summary: 'print the device compliance for Jamf extension attributes, Intune custom compliance, or JSON',
      flags: [
        {
          name: 'format',
          value: '<format>',
          choices: ['jamf', 'intune', 'json'],
          required: true,
          description: 'output format',
        },
        { ...configFlag, description: 'read the state directory from this configuration file' },
      ],
      needsRoot: false,
      needsDaemon: false,
      load: () => import('./compliance-command.js'),
    },
  ],
  doctor: async () => (await import('./doctor.js')).checks,
  attach: async (daemon) => (await import('./service.js')).attachClockGuardrail(daemon),
};
