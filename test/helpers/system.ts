// What the machine running the tests can do. Tests that need a missing part are declared
// with `test.skip` through these helpers, and scripts/test.mjs prints the list loudly.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

export function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

const libfaketimeCandidates = [
  '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/faketime/libfaketime.so.1',
];

export function libfaketimePath(): string | undefined {
  return libfaketimeCandidates.find((p) => existsSync(p));
}

/** Returns why a test cannot run here, or undefined when it can. */
export function missing(
  ...needs: Array<
    | 'root'
    | 'linux'
    | 'chronyd'
    | 'libfaketime'
    | 'openssl'
    | 'python3'
    | 'nginx'
    | 'bsdtar'
    | '7z'
    | 'cpio'
    | 'xmllint'
  >
): string | undefined {
  const absent: string[] = [];
  for (const need of needs) {
    if (need === 'root' && !isRoot) absent.push('root');
    else if (need === 'linux' && process.platform !== 'linux') absent.push('linux');
    else if (need === 'libfaketime' && !libfaketimePath()) absent.push('libfaketime');
    else if (need === 'chronyd' && !hasCommand('chronyd') && !existsSync('/usr/sbin/chronyd')) absent.push('chrony');
    else if (!['root', 'linux', 'libfaketime', 'chronyd'].includes(need) && !hasCommand(need)) absent.push(need);
  }
  return absent.length ? absent.join(', ') : undefined;
}

// Steps CLOCK_REALTIME by `ns` with adjtimex(ADJ_SETOFFSET | ADJ_NANO): a relative step, so two
// opposite steps leave the clock where it was. python3 is there wherever node-gyp is.
export function stepClock(ns: number): void {
  const program = `
import ctypes, sys
class timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]
class timex(ctypes.Structure):
    _fields_ = [("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
                ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
                ("constant", ctypes.c_long), ("precision", ctypes.c_long), ("tolerance", ctypes.c_long),
                ("time", timeval), ("tick", ctypes.c_long), ("ppsfreq", ctypes.c_long), ("jitter", ctypes.c_long),
                ("shift", ctypes.c_int), ("stabil", ctypes.c_long), ("jitcnt", ctypes.c_long), ("calcnt", ctypes.c_long),
                ("errcnt", ctypes.c_long), ("stbcnt", ctypes.c_long), ("tai", ctypes.c_int), ("pad", ctypes.c_int * 11)]
ADJ_SETOFFSET, ADJ_NANO = 0x0100, 0x2000
ns = int(sys.argv[1])
t = timex(modes=ADJ_SETOFFSET | ADJ_NANO)
t.time.tv_sec, t.time.tv_usec = ns // 1000000000, ns % 1000000000
libc = ctypes.CDLL(None, use_errno=True)
if libc.adjtimex(ctypes.byref(t)) < 0:
    sys.exit("adjtimex: errno %d" % ctypes.get_errno())
`;
  const run = spawnSync('python3', ['-c', program, String(ns)], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`could not step the clock: ${run.stderr}`);
}
