#!/usr/bin/env node
// `npm run pkg`: builds TrustGuard's installer package.
//
// On macOS: universal addon and runtime, payload, codesign (hardened runtime), pkgbuild,
// productbuild, and with --sign productsign, with --notarize notarytool + stapler; then
// pkgutil --check-signature and pkgutil --expand to check what was built.
// With --writer ts (the default off macOS): the package is written by flat-package.ts, with
// no Apple tool, and signed with --sign-key/--sign-cert. Off macOS the binaries cannot be
// made universal or signed: give --payload-from a payload staged and signed on a Mac
// (npm run pkg -- --payload-only there). The report lists the steps that need a Mac.
//
// `npm run pkg -- --write-sources` rewrites the generated files kept in the repository
// (launchd/*.plist, pkg-scripts/common.sh's settings, the PPPC example) for the default
// settings; a test fails when they drift.
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { checkLaunchdPlists, checkModes, checkOwners, checkPayloadTree, parsePlistFile, smokeTest } from './checks.js';
import { checkScripts, renderCommon, sharedScript, installerScripts, uninstallScript } from './install-scripts.js';
import {
  checkComponentPlist,
  checkInstallerXml,
  componentFileName,
  componentPlist,
  distributionXml,
  entitlementsPlist,
  packageInfoXml,
  pppcProfile,
  productFileName,
  runtimeCodeRequirement,
} from './installer-xml.js';
import { launchdFiles } from './launchd.js';
import { loadSigningIdentity, payloadFrom, signPasswordVariable, writeFlatPackage } from './flat-package.js';
import { scanTree, sourceDateEpoch, TreeError } from './format/tree.js';
import { SigningError } from './format/sign.js';
import { renderScripts } from './install-scripts.js';
import { stagePayload, walk, writeInstallerScripts, type StagedPayload } from './payload.js';
import { buildSettings, repositoryVersion, SettingsError, type BuildSettings } from './settings.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const marker = '.trustguard-pkg';

const usage = `usage: npm run pkg -- [options]
  --out DIR                 where to build (default build-pkg; emptied first)
  --identifier-prefix P     identifiers P.agent, P.agent.session (default com.trustguard)
  --node PATH               the Node runtime to carry (default: this one); on macOS give it
                            twice (darwin-arm64 and darwin-x64) unless it is universal
  --codesign IDENTITY       "Developer ID Application: …" for the binaries (default: ad hoc)
  --sign IDENTITY           "Developer ID Installer: …": productsign the package
  --notarize PROFILE        notarytool keychain profile: notarize and staple (needs --sign)
  --team-id ID              team id written into the PPPC profile of an unsigned build
  --writer apple|ts         apple: pkgbuild + productbuild (macOS, the default there);
                            ts: written in TypeScript, any OS (the default elsewhere)
  --payload-from DIR|TAR    package this staged payload (signed on a Mac) instead of
                            staging one here; TAR from --payload-only
  --payload-only            stage (and on macOS sign) the payload, write payload.tar.gz,
                            make no package
  --sign-key FILE           --writer ts: the installer key (PEM; passphrase in
                            ${signPasswordVariable})
  --sign-cert FILE          --writer ts: its certificate and chain (PEM), or one PKCS#12
                            file holding key and chain; repeatable
  --stage-only              stage and check only, make no package
  --json                    print the report as JSON
  --write-sources           rewrite the generated files kept in the repository, then exit`;

export type StepResult = 'passed' | 'failed' | 'skipped' | 'needs a Mac';
export interface Step {
  step: string;
  result: StepResult;
  detail: string;
}

export interface Report {
  platform: NodeJS.Platform;
  version: string;
  identifierPrefix: string;
  out: string;
  product?: string;
  steps: Step[];
  ok: boolean;
  /** What the report must say besides its steps (e.g. a payload that cannot run on a Mac). */
  notes: string[];
  /** --payload-only: the payload tarball. */
  payloadArchive?: string;
}

interface Options {
  out: string;
  identifierPrefix?: string;
  nodes: string[];
  codesign?: string;
  sign?: string;
  notarize?: string;
  teamId?: string;
  json: boolean;
  stageOnly: boolean;
  writeSources: boolean;
  writer: 'apple' | 'ts';
  payloadFrom?: string;
  payloadOnly: boolean;
  signKey?: string;
  signCerts: string[];
}

function parseCommandLine(argv: string[]): Options {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string' },
      'identifier-prefix': { type: 'string' },
      node: { type: 'string', multiple: true },
      codesign: { type: 'string' },
      sign: { type: 'string' },
      notarize: { type: 'string' },
      'team-id': { type: 'string' },
      json: { type: 'boolean' },
      'stage-only': { type: 'boolean' },
      writer: { type: 'string' },
      'payload-from': { type: 'string' },
      'payload-only': { type: 'boolean' },
      'sign-key': { type: 'string' },
      'sign-cert': { type: 'string', multiple: true },
      'write-sources': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
  if (values.notarize && !values.sign)
    throw new UsageError('--notarize needs --sign (Apple notarizes signed packages only)');
  if (values['team-id'] !== undefined && !/^[A-Z0-9]{10}$/.test(values['team-id']))
    throw new UsageError('--team-id is 10 upper-case letters or digits');
  const writer = values.writer ?? (process.platform === 'darwin' ? 'apple' : 'ts');
  if (writer !== 'apple' && writer !== 'ts') throw new UsageError('--writer is apple or ts');
  if (writer === 'apple' && process.platform !== 'darwin')
    throw new UsageError('--writer apple needs macOS (pkgbuild, productbuild); --writer ts works here');
  if (writer === 'ts' && values.sign)
    throw new UsageError(
      '--sign names a keychain identity for productsign (--writer apple); --writer ts signs with --sign-key and --sign-cert',
    );
  if (writer === 'apple' && (values['sign-key'] || values['sign-cert']))
    throw new UsageError('--sign-key and --sign-cert are for --writer ts; productsign takes --sign IDENTITY');
  if (values['sign-key'] && !values['sign-cert']) throw new UsageError('--sign-key needs --sign-cert');
  if (values['payload-from'] && writer !== 'ts') throw new UsageError('--payload-from needs --writer ts');
  if (values['payload-only'] && (values['payload-from'] || values['stage-only']))
    throw new UsageError('--payload-only stages a payload: not with --payload-from or --stage-only');
  const nodes = values.node ?? [process.execPath];
  if (nodes.length > 2) throw new UsageError('--node at most twice (arm64 and x86_64)');
  return {
    // Not under build/: node-gyp rebuild (the universal addon) empties build/.
    out: path.resolve(values.out ?? path.join(repoRoot, 'build-pkg')),
    identifierPrefix: values['identifier-prefix'],
    nodes: nodes.map((n) => path.resolve(n)),
    codesign: values.codesign,
    sign: values.sign,
    notarize: values.notarize,
    teamId: values['team-id'],
    json: values.json ?? false,
    stageOnly: values['stage-only'] ?? false,
    writeSources: values['write-sources'] ?? false,
    writer,
    payloadFrom: values['payload-from'] ? path.resolve(values['payload-from']) : undefined,
    payloadOnly: values['payload-only'] ?? false,
    signKey: values['sign-key'] ? path.resolve(values['sign-key']) : undefined,
    signCerts: (values['sign-cert'] ?? []).map((c) => path.resolve(c)),
  };
}

class UsageError extends Error {}

/** Empties `out`, refusing a folder that has files but is not one of ours. */
function prepareOut(out: string): void {
  if (existsSync(out)) {
    const entries = readdirSync(out);
    if (entries.length > 0 && !entries.includes(marker))
      throw new UsageError(`${out} is not empty and was not made by npm run pkg: give another --out`);
    rmSync(out, { recursive: true, force: true });
  }
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, marker), 'made by npm run pkg; emptied by the next run\n');
}

/** The generated files the repository keeps, for the default settings. */
export function repositorySources(settings: BuildSettings): Array<{ file: string; text: string }> {
  return [
    ...launchdFiles(settings).map((f) => ({ file: path.join('launchd', path.basename(f.installPath)), text: f.text })),
    {
      file: path.join('pkg-scripts', sharedScript),
      text: renderCommon(readFileSync(path.join(repoRoot, 'pkg-scripts', sharedScript), 'utf8'), settings),
    },
    { file: path.join('examples', `${settings.daemonLabel}.pppc.mobileconfig`), text: pppcProfile(settings) },
  ];
}

/** Bundles (.app, .bundle, .framework, .plugin) in the payload, for the component plist. */
function findBundles(payloadRoot: string): string[] {
  return walk(payloadRoot).filter(
    (rel) =>
      /\.(app|bundle|framework|plugin)$/.test(rel) && existsSync(path.join(payloadRoot, rel, 'Contents', 'Info.plist')),
  );
}

const appleOnlySteps: Array<[string, string]> = [
  ['universal addon and runtime', 'node-gyp with ARCHS arm64 x86_64, lipo -create / -archs'],
  ['codesign', 'codesign --options runtime --timestamp, JIT entitlements, codesign --verify'],
  ['pkgbuild', 'pkgbuild --analyze, --component-plist (BundleIsRelocatable false), --scripts'],
  ['productbuild', 'productbuild --distribution'],
  ['productsign', 'productsign --sign (with --sign)'],
  ['notarize', 'xcrun notarytool submit --wait, xcrun stapler staple (with --notarize)'],
  ['pkgutil --check-signature, --expand', 'pkgutil --check-signature, pkgutil --expand, lsbom'],
];
/** With --writer ts, the package steps need no Mac. */
const writerSteps = ['pkgbuild', 'productbuild', 'productsign'];

/** Codesign (macOS) or say why not, then --payload-only's tarball or the TypeScript writer. */
async function writeWithTypeScript(input: {
  options: Options;
  settings: BuildSettings;
  staged: StagedPayload;
  steps: Step[];
  report: Report;
  macos: typeof import('./macos.js') | undefined;
}): Promise<void> {
  const { options, settings, staged, steps, report, macos } = input;
  if (options.payloadFrom) {
    steps.push({
      step: 'codesign',
      result: 'skipped',
      detail: 'the payload from --payload-from was signed where it was built',
    });
  } else if (macos) {
    const entitlementsFile = path.join(options.out, 'entitlements.plist');
    const identity = options.codesign ?? '-';
    const signing = macos.codesignPayload(staged.installRootDir, settings, identity, entitlementsFile);
    steps.push({
      step: 'codesign',
      result: 'passed',
      detail: `${signing.signed.length} binaries, hardened runtime, ${identity === '-' ? 'ad hoc (no --codesign: cannot be notarized)' : identity}`,
    });
  } else {
    for (const [step, tools] of appleOnlySteps.slice(0, 2)) steps.push({ step, result: 'needs a Mac', detail: tools });
    report.notes.push(
      `The payload carries this machine's ${process.platform}-${process.arch} runtime and addon, unsigned: the package installs, but agentd cannot run on a Mac. For a real package stage on a Mac (npm run pkg -- --payload-only) and give --payload-from.`,
    );
  }
  if (options.payloadOnly) {
    const archive = path.join(options.out, 'payload.tar.gz');
    const r = spawnSync('tar', ['-czf', archive, '-C', staged.payloadRoot, '.'], { encoding: 'utf8' });
    if (r.error || r.status !== 0) throw new Error(`tar -czf ${archive}: ${r.error?.message ?? r.stderr.trim()}`);
    steps.push({ step: 'payload archive', result: 'passed', detail: `${path.basename(archive)} (for --payload-from)` });
    report.payloadArchive = archive;
    return;
  }
  const identity =
    options.signCerts.length > 0 ? loadSigningIdentity({ key: options.signKey, certs: options.signCerts }) : undefined;
  const product = path.join(options.out, productFileName(settings));
  const written = await writeFlatPackage({
    payloadRoot: staged.payloadRoot,
    scriptsDir: staged.scriptsDir,
    settings,
    product,
    mtime: sourceDateEpoch(),
    identity,
  });
  steps.push({
    step: 'write the package (TypeScript)',
    result: 'passed',
    detail: `${path.basename(product)}: ${written.numberOfFiles} entries, Payload ${Math.round(written.payloadBytes / 1024)} KB, Bom, Scripts`,
  });
  steps.push(
    identity
      ? {
          step: 'sign (TypeScript)',
          result: 'passed',
          detail: `RSA + CMS over the TOC checksum by ${
            identity.certificates[0].subject
              .split('\n')
              .find((l) => l.startsWith('CN='))
              ?.slice(3) ?? 'the certificate given'
          }`,
        }
      : { step: 'sign (TypeScript)', result: 'skipped', detail: 'unsigned: no --sign-cert' },
  );
  report.product = product;
  if (macos) {
    if (options.notarize)
      steps.push({ step: 'notarize', result: 'passed', detail: macos.notarize(product, options.notarize) });
    steps.push({
      step: 'pkgutil --check-signature',
      result: 'passed',
      detail: macos.checkSignature(product, Boolean(identity), { anyCertificate: true }),
    });
    const problems = macos.checkExpanded(product, options.out, settings, staged.scriptsDir);
    steps.push(
      problems.length
        ? { step: 'pkgutil --expand', result: 'failed', detail: problems.join('\n') }
        : {
            step: 'pkgutil --expand',
            result: 'passed',
            detail: 'Distribution, PackageInfo, BOM owners and modes, Scripts',
          },
    );
  } else {
    for (const [step, tools] of appleOnlySteps.slice(5)) steps.push({ step, result: 'needs a Mac', detail: tools });
  }
}

export async function buildPackage(options: Options): Promise<Report> {
  const settings = buildSettings({ identifierPrefix: options.identifierPrefix, version: repositoryVersion(repoRoot) });
  const steps: Step[] = [];
  const report: Report = {
    platform: process.platform,
    version: settings.version,
    identifierPrefix: settings.identifierPrefix,
    out: options.out,
    steps,
    ok: false,
    notes: [],
  };
  const check = (step: string, problems: string[], passed: string) =>
    steps.push(
      problems.length === 0
        ? { step, result: 'passed', detail: passed }
        : { step, result: 'failed', detail: problems.join('\n') },
    );
  const mac = process.platform === 'darwin' && !options.stageOnly;
  const macos = mac ? await import('./macos.js') : undefined;
  if (mac && options.out.startsWith(path.join(repoRoot, 'build') + path.sep))
    throw new UsageError('--out must not be under build/: node-gyp rebuild (the universal addon) empties it');
  prepareOut(options.out);
  const work = mkdtempSync(path.join(tmpdir(), 'tg-pkg-'));
  try {
    // 1. The addon and the runtime.
    let addon = path.join(repoRoot, 'build', 'Release', 'trustguard.node');
    let runtime = options.nodes[0];
    if (macos && !options.payloadFrom) {
      addon = macos.buildUniversalAddon(repoRoot);
      runtime = macos.universalRuntime(options.nodes, work);
      steps.push({
        step: 'universal addon and runtime',
        result: 'passed',
        detail: `trustguard.node and bin/node: ${macos.archs(runtime).join(' ')}`,
      });
    } else if (options.nodes.length > 1 && !options.payloadFrom) {
      steps.push({
        step: 'runtime',
        result: 'skipped',
        detail: `joining two --node runtimes needs lipo (a Mac); carrying ${runtime}`,
      });
    }

    // 2. Stage, or take the payload staged elsewhere.
    let staged: StagedPayload;
    if (options.payloadFrom) {
      const payloadRoot = payloadFrom(options.payloadFrom, path.join(options.out, 'payload'));
      const scriptsDir = path.join(options.out, 'scripts');
      writeInstallerScripts(scriptsDir, renderScripts(repoRoot, settings));
      const entries = scanTree(payloadRoot);
      staged = {
        payloadRoot,
        scriptsDir,
        installRootDir: path.join(payloadRoot, settings.installRoot),
        numberOfFiles: entries.length,
        installKBytes: Math.ceil(entries.reduce((n, e) => n + (e.type === 'file' ? e.size : 0), 0) / 1024),
        missingOptional: [],
      };
      steps.push({
        step: 'payload from',
        result: 'passed',
        detail: `${options.payloadFrom}: ${staged.numberOfFiles} entries, ${Math.round(staged.installKBytes / 1024)} MB (staged and signed where it was built)`,
      });
    } else {
      staged = stagePayload({ repoRoot, out: options.out, settings, runtime, addon });
      const optional = staged.missingOptional.length
        ? `; optional dependencies not installed here: ${staged.missingOptional.join(', ')}`
        : '';
      steps.push({
        step: 'stage payload',
        result: 'passed',
        detail: `${staged.payloadRoot}: ${staged.numberOfFiles} entries, ${Math.round(staged.installKBytes / 1024)} MB${optional}`,
      });
    }
    if (macos && !options.payloadFrom) {
      const fixed = macos.universalizeDependencyAddons(staged.installRootDir, repoRoot);
      if (fixed.length) steps.push({ step: 'universal dependency addons', result: 'passed', detail: fixed.join(', ') });
    }

    // 3. The installer's files.
    const distributionFile = path.join(options.out, 'Distribution.xml');
    writeFileSync(distributionFile, distributionXml(settings));
    writeFileSync(path.join(options.out, 'PackageInfo'), packageInfoXml(settings, staged));
    const entitlementsFile = path.join(options.out, 'entitlements.plist');
    writeFileSync(entitlementsFile, entitlementsPlist());
    let componentPlistFile = path.join(options.out, 'component.plist');
    writeFileSync(
      componentPlistFile,
      componentPlist(findBundles(staged.payloadRoot).map((RootRelativeBundlePath) => ({ RootRelativeBundlePath }))),
    );

    // 4. The checks that need no Apple tool.
    check(
      'payload tree',
      checkPayloadTree(staged.payloadRoot, settings, repoRoot),
      `install root ${settings.installRoot}, ${launchdFiles(settings).length} launchd plists, production dependencies only, no links`,
    );
    check(
      'modes',
      checkModes(staged.payloadRoot, settings),
      'directories 0755, files 0644/0755, executables 0755, plists 0644',
    );
    if (options.writer === 'ts') {
      steps.push({
        step: 'owners',
        result: 'passed',
        detail: 'root:wheel (0:0) in the Payload, Scripts and Bom: the TypeScript writer sets them',
      });
    } else if (process.getuid?.() === 0) {
      check(
        'owners',
        [...checkOwners(staged.payloadRoot), ...checkOwners(staged.scriptsDir)],
        'root:wheel (0:0) throughout',
      );
    } else {
      steps.push({
        step: 'owners',
        result: 'skipped',
        detail: 'not root: cannot chown to root:wheel here (pkgbuild --ownership recommended sets it on the Mac)',
      });
    }
    check(
      'launchd plists',
      checkLaunchdPlists(staged.payloadRoot, settings),
      launchdFiles(settings)
        .map((f) => path.basename(f.installPath))
        .join(', ') + ': well-formed, launchd keys, no com.apple.*',
    );
    check(
      'Distribution and PackageInfo',
      checkInstallerXml({
        distribution: readFileSync(distributionFile, 'utf8'),
        packageInfo: readFileSync(path.join(options.out, 'PackageInfo'), 'utf8'),
        settings,
        componentFile: componentFileName(settings),
      }),
      `ids ${settings.packageIdentifier}, version ${settings.version}, hostArchitectures arm64,x86_64, customize never`,
    );
    const plistProblems: string[] = [];
    for (const file of [componentPlistFile, entitlementsFile]) {
      try {
        const parsed = parsePlistFile(file);
        if (file === componentPlistFile) plistProblems.push(...checkComponentPlist(parsed));
      } catch (error) {
        plistProblems.push(`${path.basename(file)}: ${(error as Error).message}`);
      }
    }
    check('component plist and entitlements', plistProblems, 'well-formed; no relocatable bundle');
    const scriptChecks = [
      ...checkScripts(staged.scriptsDir, [...installerScripts, sharedScript]),
      ...checkScripts(path.join(staged.installRootDir, 'bin'), [uninstallScript, sharedScript]),
    ];
    for (const tool of ['sh -n', 'shellcheck'] as const) {
      const runs = scriptChecks.filter((c) => c.tool === tool);
      const failed = runs.filter((c) => c.result === 'failed');
      if (failed.length)
        steps.push({ step: `scripts: ${tool}`, result: 'failed', detail: failed.map((c) => c.detail).join('\n') });
      else if (runs.some((c) => c.result === 'skipped'))
        steps.push({ step: `scripts: ${tool}`, result: 'skipped', detail: runs[0].detail });
      else
        steps.push({
          step: `scripts: ${tool}`,
          result: 'passed',
          detail: 'preinstall, postinstall, uninstall, common.sh',
        });
    }
    if (options.payloadFrom)
      steps.push({
        step: 'smoke: staged runtime',
        result: 'skipped',
        detail: 'the payload was staged elsewhere (its runtime is for macOS)',
      });
    else
      check(
        'smoke: staged runtime',
        smokeTest(staged.installRootDir, settings),
        'bin/node runs agentctl version and loads the addon',
      );

    // 5. Apple's tools.
    let pppc = pppcProfile(settings, options.teamId ? runtimeCodeRequirement(settings, options.teamId) : undefined);
    if (steps.some((s) => s.result === 'failed')) {
      for (const [step] of appleOnlySteps.slice(macos ? 1 : 0))
        steps.push({ step, result: 'skipped', detail: 'not run: the checks above failed' });
    } else if (!macos && (options.stageOnly || options.writer === 'apple')) {
      for (const [step, tools] of appleOnlySteps) {
        if (options.writer === 'ts' && writerSteps.includes(step)) continue;
        steps.push(
          process.platform === 'darwin'
            ? { step, result: 'skipped', detail: `--stage-only: ${tools}` }
            : { step, result: 'needs a Mac', detail: tools },
        );
      }
      if (options.writer === 'ts')
        steps.push({ step: 'write the package (TypeScript)', result: 'skipped', detail: '--stage-only: no .pkg made' });
    } else if (!macos || options.writer === 'ts' || options.payloadOnly) {
      await writeWithTypeScript({ options, settings, staged, steps, report, macos });
    } else {
      const identity = options.codesign ?? '-';
      const signing = macos.codesignPayload(staged.installRootDir, settings, identity, entitlementsFile);
      steps.push({
        step: 'codesign',
        result: 'passed',
        detail: `${signing.signed.length} binaries, hardened runtime, ${identity === '-' ? 'ad hoc (no --codesign: cannot be notarized)' : identity}`,
      });
      const requirement =
        identity === '-' ? undefined : macos.designatedRequirement(path.join(staged.installRootDir, 'bin', 'node'));
      if (requirement) pppc = pppcProfile(settings, requirement);
      componentPlistFile = macos.analyzeComponents(staged.payloadRoot, options.out);
      macos.pkgbuild({
        payloadRoot: staged.payloadRoot,
        scriptsDir: staged.scriptsDir,
        componentPlistFile,
        settings,
        out: options.out,
      });
      const product = path.join(options.out, productFileName(settings));
      const unsigned = options.sign ? path.join(options.out, 'unsigned.pkg') : product;
      macos.productbuild({ distributionFile, packageDir: options.out, output: unsigned });
      steps.push({ step: 'pkgbuild, productbuild', result: 'passed', detail: path.basename(product) });
      if (options.sign) {
        macos.productsign({ identity: options.sign, unsigned, output: product });
        rmSync(unsigned);
        steps.push({ step: 'productsign', result: 'passed', detail: options.sign });
      }
      if (options.notarize)
        steps.push({ step: 'notarize', result: 'passed', detail: macos.notarize(product, options.notarize) });
      steps.push({
        step: 'pkgutil --check-signature',
        result: 'passed',
        detail: macos.checkSignature(product, Boolean(options.sign)),
      });
      check(
        'pkgutil --expand',
        macos.checkExpanded(product, options.out, settings, staged.scriptsDir),
        'Distribution, PackageInfo, BOM owners and modes, Scripts',
      );
      report.product = product;
    }
    writeFileSync(path.join(options.out, `${settings.daemonLabel}.pppc.mobileconfig`), pppc);
  } catch (error) {
    if (error instanceof UsageError || error instanceof SettingsError) throw error;
    const step = error instanceof SigningError ? 'sign' : error instanceof TreeError ? 'payload' : 'build';
    steps.push({ step, result: 'failed', detail: (error as Error).message });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  report.ok = steps.every((s) => s.result !== 'failed');
  if (report.ok && !report.product && !report.payloadArchive)
    report.notes.push(options.stageOnly ? 'No .pkg was made (--stage-only).' : 'No .pkg was made.');
  writeFileSync(path.join(options.out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  return report;
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
}

function printReport(report: Report): void {
  const mark: Record<StepResult, string> = { passed: '✔', failed: '✘', skipped: '–', 'needs a Mac': '◌' };
  const lines = [
    `npm run pkg (${report.platform}): TrustGuard ${report.version}, identifiers ${report.identifierPrefix}.*, in ${report.out}`,
  ];
  for (const s of report.steps) {
    const [first, ...rest] = s.detail.split('\n');
    lines.push(`  ${mark[s.result]} ${s.step.padEnd(34)} ${s.result === 'passed' ? '' : `${s.result}: `}${first}`);
    for (const more of rest) lines.push(`      ${more}`);
  }
  const needsMac = report.steps.filter((s) => s.result === 'needs a Mac');
  if (needsMac.length)
    lines.push(
      '',
      ...wrap(
        `Not done here: the ${needsMac.length} steps marked ◌ need macOS and Apple's tools. The staged payload, scripts and installer files are in ${report.out}.`,
        80,
      ),
    );
  if (report.product) lines.push('', `Package: ${report.product}`);
  if (report.payloadArchive) lines.push('', `Payload: ${report.payloadArchive}`);
  for (const note of report.notes) lines.push('', ...wrap(note, 80));
  // "All checks passed" only about a package (or payload) that was made.
  lines.push(
    '',
    !report.ok
      ? 'FAILED: see the steps marked ✘.'
      : report.product || report.payloadArchive
        ? 'All checks passed.'
        : 'Every check that ran passed.',
  );
  console.log(lines.join('\n'));
}

async function main(): Promise<void> {
  let options: Options;
  try {
    options = parseCommandLine(process.argv.slice(2));
    if (options.writeSources) {
      if (options.identifierPrefix) throw new UsageError('--write-sources writes the default settings only');
      const settings = buildSettings({ version: repositoryVersion(repoRoot) });
      for (const { file, text } of repositorySources(settings)) {
        const full = path.join(repoRoot, file);
        const tmp = `${full}.tmp`;
        writeFileSync(tmp, text, { mode: 0o644 });
        renameSync(tmp, full);
        console.log(`wrote ${file}`);
      }
      return;
    }
    const report = await buildPackage(options);
    if (options.json) console.log(JSON.stringify(report, null, 2));
    else printReport(report);
    process.exitCode = report.ok ? 0 : 1;
  } catch (error) {
    if (
      error instanceof UsageError ||
      error instanceof SettingsError ||
      (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
    ) {
      console.error(`npm run pkg: ${(error as Error).message}\n${usage}`);
      process.exitCode = 64;
      return;
    }
    throw error;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) void main();
