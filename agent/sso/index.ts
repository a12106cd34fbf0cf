// The SSO extension doctor (SPEC §1.3): `agentctl doctor sso` runs Apple's, Microsoft's and
// Okta's troubleshooting lists for every com.apple.extensiblesso payload: the payload's static
// checks (shared with `agentctl doctor profile`, agent/profiles/sso-checks.ts), the IdP's
// association file, Apple's CDN copy, TLS interception, the IdP's chain (the trust
// capability), the macOS commands (pluginkit, swcutil, codesign, app-sso) and Platform SSO claim
// drift against the IdP's OpenID discovery document. Without --profile, on macOS, the installed
// payloads come from agentd (`sso.installed`, installed-service.ts), which reads them as root.
import type { Capability } from '../capability.js';

export const sso: Capability = {
  name: 'sso',
  config: async () => (await import('./config.js')).contribution,
  commands: [
    {
      name: 'doctor sso',
      summary:
        "check SSO extension payloads end to end (static checks, the IdP's association file, Apple's CDN copy, TLS interception, the IdP's chain, the extension on this Mac, Platform SSO claims): exit 0 no error, 2 a check failed, 1 could not run, 64 usage",
      flags: [
        {
          name: 'profile',
          value: '<file>',
          multiple: true,
          description:
            'a .mobileconfig, or the output of `sudo profiles show -output stdout-xml` (repeatable; without it, on macOS: the installed profiles, read by agentd)',
        },
        { name: 'json', description: 'print JSON: one {check, ok, severity, code, detail, hint} per check' },
        { name: 'ca', value: '<file>', multiple: true, description: 'trust this CA certificate (PEM or DER) too' },
        {
          name: 'cdn',
          value: '<url>',
          description:
            "base URL of Apple's association CDN (default SSOAssociationCDNURL: https://app-site-association.cdn-apple.com/a/v1)",
        },
        {
          name: 'issuer',
          value: '<url>',
          description: "the IdP's OpenID issuer for the claim audit (default: the payload's first URL)",
        },
        {
          name: 'timeout',
          value: '<seconds>',
          description: 'deadline of each network request and command (default 10)',
          integer: { min: 1, max: 120 },
        },
        {
          name: 'allow-local-urls',
          description:
            "also ask the profile's hosts (and the issuer derived from them) on loopback or link-local addresses",
        },
        {
          name: 'config',
          value: '<file>',
          description: "read SSOAssociationCDNURL and the daemon's ControlSocketPath from this file",
        },
      ],
      needsRoot: false,
      needsDaemon: false,
      load: () => import('./doctor-command.js'),
    },
  ],
  // The "sso payloads" row of `agentctl doctor`: the installed payloads through the same checks.
  doctor: async () => (await import('./doctor-row.js')).checks,
  // `sso.installed`: the installed SSO payloads, read as root and reduced (installed-service.ts).
  attach: async (daemon) => void (await import('./installed-service.js')).attachSsoInstalled(daemon),
};
