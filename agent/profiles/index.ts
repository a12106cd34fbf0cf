// Configuration profiles (SPEC §1.3): one reader for .mobileconfig files (XML, binary, signed),
// `profiles show` output and preference plists, and `agentctl doctor profile`, the pre-flight
// that CI runs before a profile reaches the MDM. The SSO doctor (`agentctl doctor sso`) shares
// the reader and the SSO payload checks (sso-checks.ts).
import type { Capability } from '../capability.js';

export const profiles: Capability = {
  name: 'profiles',
  commands: [
    {
      name: 'doctor profile',
      summary: 'check profiles before the MDM: exit 0 ok, 2 a check failed, 1 could not run',
      args: [
        {
          name: 'file',
          description: 'the .mobileconfig files (or `profiles show -output stdout-xml` output), checked together',
          required: true,
          variadic: true,
        },
      ],
      flags: [
        { name: 'json', description: 'print stable snake_case JSON' },
        { name: 'sarif', description: 'print SARIF 2.1.0 (GitHub code scanning)' },
        {
          name: 'schemas',
          value: '<dir>',
          description: "a checkout of Apple's schemas: git clone https://github.com/apple/device-management",
        },
        {
          name: 'target-macos',
          value: '<version>',
          description: 'the oldest macOS the profiles must work on, e.g. 13.0',
        },
        { name: 'at', value: '<ISO-8601>', description: 'check certificates and signers at this time (default: now)' },
        {
          name: 'min-days',
          value: '<n>',
          description: 'a certificate expiring within n days is an error (default 30)',
          integer: { min: 0, max: 36500 },
        },
        {
          name: 'revocation',
          value: '<mode>',
          description:
            'ask OCSP responders, CRL, CA-issuers and SCEP URLs; require: an unanswered one is an error (default soft)',
          choices: ['off', 'soft', 'require'],
        },
        { name: 'ca', value: '<file>', description: 'trust this CA certificate (PEM or DER) too', multiple: true },
        {
          name: 'timeout',
          value: '<ms>',
          description: 'limit of each network request (default 5000)',
          integer: { min: 100, max: 60000 },
        },
        {
          name: 'allow-local-urls',
          description: 'also ask OCSP, CRL and CA-issuers URLs on loopback or link-local addresses',
        },
        { name: 'strict', description: 'warnings fail too (exit 2)' },
      ],
      needsRoot: false,
      needsDaemon: false,
      load: () => import('./doctor-profile-command.js'),
    },
  ],
};
