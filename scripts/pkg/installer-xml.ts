// The installer's own files, written from the build settings: the Distribution file for
// `productbuild --distribution`, the PackageInfo that `pkgbuild` writes into the component
// (written here too, for the checks and for the TypeScript writer, flat-package.ts), the
// component property list (`pkgbuild --component-plist`), the code-signing entitlements of
// the Node runtime, and the PPPC profile granting that runtime Full Disk Access.
//
// The checks parse the files back with an XML parser, never trusting the writer, and run on
// Linux against these files and on macOS against what `pkgutil --expand` shows.
import { createHash } from 'node:crypto';
import { DOMParser, onWarningStopParsing, type Element } from '@xmldom/xmldom';
import { build } from 'plist';
import type { BuildSettings } from './settings.js';
import { installPaths } from './settings.js';

export const hostArchitectures = ['arm64', 'x86_64'] as const;

export function componentFileName(settings: BuildSettings): string {
  return `${settings.productName}-component.pkg`;
}

export function productFileName(settings: BuildSettings): string {
  return `${settings.productName}-${settings.version}.pkg`;
}

function xmlAttr(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * The Distribution file. For productbuild, the pkg-ref names the component file beside it;
 * inside a product archive (`archive`, the TypeScript writer) it names the component in
 * the archive ("#file", what productbuild writes) with the payload's size.
 */
export function distributionXml(settings: BuildSettings, archive?: { installKBytes: number }): string {
  const id = xmlAttr(settings.packageIdentifier);
  const version = xmlAttr(settings.version);
  const target = `${archive ? '#' : ''}${xmlAttr(componentFileName(settings))}`;
  const size = archive ? ` installKBytes="${archive.installKBytes}"` : '';
  return `<?xml version="1.0" encoding="utf-8"?>
<installer-gui-script minSpecVersion="2">
    <title>${xmlAttr(settings.productName)}</title>
    <!-- No Customize button (one choice); both Mac architectures run the universal payload. -->
    <options customize="never" require-scripts="false" hostArchitectures="${hostArchitectures.join(',')}"/>
    <!-- A LaunchDaemon: the computer, never a user's home folder. -->
    <domains enable_anywhere="false" enable_currentUserHome="false" enable_localSystem="true"/>
    <volume-check>
        <allowed-os-versions>
            <os-version min="${xmlAttr(settings.minimumMacOS)}"/>
        </allowed-os-versions>
    </volume-check>
    <choices-outline>
        <line choice="default">
            <line choice="${id}"/>
        </line>
    </choices-outline>
    <choice id="default"/>
    <choice id="${id}" visible="false">
        <pkg-ref id="${id}"/>
    </choice>
    <pkg-ref id="${id}" version="${version}" onConclusion="none"${size}>${target}</pkg-ref>
    <product id="${xmlAttr(settings.productIdentifier)}" version="${version}"/>
</installer-gui-script>
`;
}

export function packageInfoXml(
  settings: BuildSettings,
  payload: { numberOfFiles: number; installKBytes: number },
): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<pkg-info format-version="2" identifier="${xmlAttr(settings.packageIdentifier)}" version="${xmlAttr(settings.version)}" install-location="/" auth="root" relocatable="false" overwrite-permissions="true" postinstall-action="none">
    <payload numberOfFiles="${payload.numberOfFiles}" installKBytes="${payload.installKBytes}"/>
    <scripts>
        <preinstall file="./preinstall"/>
        <postinstall file="./postinstall"/>
    </scripts>
    <bundle-version/>
    <upgrade-bundle/>
    <update-bundle/>
    <atomic-update-bundle/>
    <strict-identifier/>
    <relocate/>
</pkg-info>
`;
}

export interface ComponentEntry {
  RootRelativeBundlePath: string;
  BundleIsRelocatable: boolean;
  BundleIsVersionChecked: boolean;
  BundleHasStrictIdentifier: boolean;
  BundleOverwriteAction: string;
}

/**
 * The component property list: every bundle of the payload, never relocatable (Installer
 * would otherwise "upgrade" a same-id bundle it finds elsewhere on the disk instead of
 * installing into the install root). Our payload has no .app bundles today, so the list is
 * usually empty; on macOS it starts from `pkgbuild --analyze`.
 */
export function componentPlist(entries: Array<Partial<ComponentEntry> & { RootRelativeBundlePath: string }>): string {
  const fixed = entries.map((e) => ({
    BundleHasStrictIdentifier: true,
    BundleIsVersionChecked: true,
    BundleOverwriteAction: 'upgrade',
    ...e,
    BundleIsRelocatable: false,
  }));
  return `${build(fixed as never)}\n`;
}

/**
 * Entitlements of the Node runtime under the hardened runtime: V8 compiles JavaScript to
 * machine code at run time (MAP_JIT pages on arm64: allow-jit; writable-executable pages
 * without MAP_JIT on x86_64: allow-unsigned-executable-memory). Library validation stays on:
 * the addons are signed by the same team.
 */
export const runtimeEntitlements = {
  'com.apple.security.cs.allow-jit': true,
  'com.apple.security.cs.allow-unsigned-executable-memory': true,
};

export function entitlementsPlist(): string {
  return `${build(runtimeEntitlements)}\n`;
}

/** A UUID derived from a name, so that generated profiles are reproducible. */
export function stableUuid(name: string): string {
  const h = createHash('sha256').update(name).digest('hex').toUpperCase();
  const variant = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16).toUpperCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export const teamIdPlaceholder = 'REPLACE_WITH_TEAM_ID';

/** The designated requirement of the runtime signed with a Developer ID of `teamId`. */
export function runtimeCodeRequirement(settings: BuildSettings, teamId: string): string {
  return (
    `identifier "${settings.runtimeSigningIdentifier}" and anchor apple generic and ` +
    'certificate 1[field.1.2.840.113635.100.6.2.6] /* exists */ and ' +
    `certificate leaf[field.1.2.840.113635.100.6.1.13] /* exists */ and certificate leaf[subject.OU] = "${teamId}"`
  );
}

/**
 * A Privacy Preferences Policy Control profile granting the signed runtime (and so agentd)
 * Full Disk Access. `codeRequirement` is what `codesign -d -r- bin/node` prints for the
 * signed build; by default the Developer ID form with a team-id placeholder.
 */
export function pppcProfile(
  settings: BuildSettings,
  codeRequirement = runtimeCodeRequirement(settings, teamIdPlaceholder),
): string {
  const paths = installPaths(settings);
  const profileId = `${settings.daemonLabel}.pppc`;
  const profile = {
    PayloadDisplayName: `${settings.productName}: Full Disk Access`,
    PayloadDescription: `Grants Full Disk Access to the ${settings.productName} agent (agentd runs in its bundled Node runtime); agentctl status shows it under Permissions.`,
    PayloadIdentifier: profileId,
    PayloadOrganization: settings.productName,
    PayloadScope: 'System',
    PayloadType: 'Configuration',
    PayloadUUID: stableUuid(`${profileId}:profile`),
    PayloadVersion: 1,
    PayloadContent: [
      {
        // Apple's payload type for PPPC (the schema's name, not one of our identifiers).
        PayloadType: 'com.apple.TCC.configuration-profile-policy',
        PayloadIdentifier: `${profileId}.tcc`,
        PayloadUUID: stableUuid(`${profileId}:tcc`),
        PayloadVersion: 1,
        PayloadDisplayName: 'Privacy Preferences Policy Control',
        Services: {
          SystemPolicyAllFiles: [
            {
              Identifier: paths.runtime,
              IdentifierType: 'path',
              CodeRequirement: codeRequirement,
              Authorization: 'Allow',
              StaticCode: false,
              Comment: `agentd, run by launchd as ${settings.daemonLabel}`,
            },
          ],
        },
      },
    ],
  };
  return `${build(profile)}\n`;
}

// ---------------------------------------------------------------------------------------
// Checks

function parseXml(text: string, what: string): Element {
  try {
    const doc = new DOMParser({ onError: onWarningStopParsing }).parseFromString(text, 'text/xml');
    if (!doc.documentElement) throw new Error('no root element');
    return doc.documentElement;
  } catch (error) {
    throw new Error(`${what} is not well-formed XML: ${(error as Error).message.split('\n')[0]}`);
  }
}

function children(element: Element, name: string): Element[] {
  return Array.from(element.getElementsByTagName(name));
}

export interface InstallerXmlFacts {
  packageIdentifier: string;
  version: string;
}

/**
 * Problems of a Distribution file and the component's PackageInfo (empty when they agree
 * with each other and with the build settings). `componentFile` is the pkg-ref's target:
 * `TrustGuard-component.pkg` before productbuild, `#TrustGuard-component.pkg` after.
 */
export function checkInstallerXml(input: {
  distribution: string;
  packageInfo: string;
  settings: BuildSettings;
  componentFile?: string;
}): string[] {
  const problems: string[] = [];
  const { settings } = input;
  let dist: Element;
  let info: Element;
  try {
    dist = parseXml(input.distribution, 'Distribution');
    info = parseXml(input.packageInfo, 'PackageInfo');
  } catch (error) {
    return [(error as Error).message];
  }

  // Distribution
  if (dist.tagName !== 'installer-gui-script')
    problems.push(`Distribution: root element is <${dist.tagName}>, not <installer-gui-script>`);
  const options = children(dist, 'options')[0];
  if (!options) problems.push('Distribution: no <options>');
  else {
    if (options.getAttribute('customize') !== 'never') problems.push('Distribution: options customize is not "never"');
    const archs = (options.getAttribute('hostArchitectures') ?? '')
      .split(',')
      .map((a) => a.trim())
      .sort();
    if (archs.join(',') !== [...hostArchitectures].sort().join(','))
      problems.push(`Distribution: hostArchitectures is "${archs.join(',')}", not arm64,x86_64`);
  }
  const osVersion = children(dist, 'os-version')[0];
  if (osVersion?.getAttribute('min') !== settings.minimumMacOS)
    problems.push(`Distribution: minimum macOS is not ${settings.minimumMacOS}`);
  // Top-level pkg-refs: the one naming the component file (with its version), and the extra
  // ones productbuild adds for the same id (<pkg-ref id="…"><bundle-version/></pkg-ref>).
  const pkgRefs = children(dist, 'pkg-ref');
  const topLevel = pkgRefs.filter((r) => r.parentNode === dist);
  const definitions = topLevel.filter((r) => (r.textContent ?? '').trim() !== '');
  if (definitions.length !== 1)
    problems.push(`Distribution: ${definitions.length} pkg-refs name a component package, expected 1`);
  const definition = definitions[0];
  if (definition) {
    if (definition.getAttribute('id') !== settings.packageIdentifier)
      problems.push(`Distribution: pkg-ref id "${definition.getAttribute('id')}" is not ${settings.packageIdentifier}`);
    if (definition.getAttribute('version') !== settings.version)
      problems.push(`Distribution: pkg-ref version "${definition.getAttribute('version')}" is not ${settings.version}`);
    if (input.componentFile !== undefined) {
      const target = (definition.textContent ?? '').trim().replace(/^#/, '');
      if (target !== input.componentFile.replace(/^#/, ''))
        problems.push(`Distribution: pkg-ref names "${target}", not ${input.componentFile}`);
    }
  }
  const defined = new Set(definitions.map((d) => d.getAttribute('id')));
  for (const ref of pkgRefs)
    if (!defined.has(ref.getAttribute('id')))
      problems.push(`Distribution: pkg-ref "${ref.getAttribute('id')}" names no component package`);
  for (const ref of topLevel) {
    const v = ref.getAttribute('version');
    if (v && v !== settings.version)
      problems.push(`Distribution: pkg-ref "${ref.getAttribute('id')}" has version ${v}, not ${settings.version}`);
  }
  const choiceIds = new Set(children(dist, 'choice').map((c) => c.getAttribute('id')));
  for (const line of children(dist, 'line'))
    if (!choiceIds.has(line.getAttribute('choice')))
      problems.push(`Distribution: choices-outline names an unknown choice "${line.getAttribute('choice')}"`);
  const product = children(dist, 'product')[0];
  if (!product) problems.push('Distribution: no <product>');
  else {
    if (product.getAttribute('id') !== settings.productIdentifier)
      problems.push(`Distribution: product id "${product.getAttribute('id')}" is not ${settings.productIdentifier}`);
    if (product.getAttribute('version') !== settings.version)
      problems.push(`Distribution: product version "${product.getAttribute('version')}" is not ${settings.version}`);
  }

  // PackageInfo
  if (info.tagName !== 'pkg-info') problems.push(`PackageInfo: root element is <${info.tagName}>, not <pkg-info>`);
  const expectAttr = (name: string, value: string) => {
    if (info.getAttribute(name) !== value)
      problems.push(`PackageInfo: ${name} is "${info.getAttribute(name)}", not "${value}"`);
  };
  expectAttr('identifier', settings.packageIdentifier);
  expectAttr('version', settings.version);
  expectAttr('install-location', '/');
  expectAttr('auth', 'root');
  if (info.hasAttribute('relocatable')) expectAttr('relocatable', 'false');
  const scripts = children(info, 'scripts')[0];
  for (const phase of ['preinstall', 'postinstall']) {
    const element = scripts ? children(scripts, phase)[0] : undefined;
    if (!element || !/^(\.\/)?[a-z]+$/.test(element.getAttribute('file') ?? ''))
      problems.push(`PackageInfo: no ${phase} script`);
  }
  if (children(info, 'relocate').some((r) => children(r, 'bundle').length > 0))
    problems.push('PackageInfo: a bundle is relocatable');

  // Each other
  if (definition && definition.getAttribute('id') !== info.getAttribute('identifier'))
    problems.push('Distribution pkg-ref id and PackageInfo identifier differ');
  if (definition && definition.getAttribute('version') !== info.getAttribute('version'))
    problems.push('Distribution pkg-ref version and PackageInfo version differ');
  for (const [what, id] of [
    ['pkg-ref', definition?.getAttribute('id')],
    ['product', product?.getAttribute('id')],
    ['PackageInfo', info.getAttribute('identifier')],
  ] as const) {
    if (id && /^com\.apple\./i.test(id)) problems.push(`${what} id ${id} is an Apple identifier`);
  }
  return problems;
}

/** Problems of a component property list (every bundle must be non-relocatable). */
export function checkComponentPlist(parsed: unknown): string[] {
  if (!Array.isArray(parsed)) return ['the component plist is not an array'];
  return parsed.flatMap((entry: Record<string, unknown>, i) =>
    entry?.BundleIsRelocatable === false
      ? []
      : [`component ${i} (${String(entry?.RootRelativeBundlePath)}) is relocatable`],
  );
}
