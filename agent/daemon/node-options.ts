// The Node options agentd runs with, in one place: the LaunchDaemon's and the session
// LaunchAgent's ProgramArguments (scripts/pkg/launchd.ts) and every daemon the tests and
// benchmarks start (test/helpers/agent.ts).
//
// --max-opt=1: V8 runs agentd's code in its interpreter and baseline compiler (Sparkplug) and
// never starts its optimizing compiler (TurboFan). A daemon that idles between measurements
// gains little from optimized code, and TurboFan's first use keeps about 3.5 MB more of the
// node binary's code resident for good (bench/status.bench.ts: idle RSS 55.6 MB with it, 52.2
// MB without, after the same 52 status requests). The in-process throughputs stay well inside
// their budgets with it (telemetry: 58,000 events/s enqueued, budget 20,000; 29,700/s drained,
// budget 10,000). The flag has existed since V8 10.x (Node 18); the pinned runtime is Node 20+.
//
// --max-semi-space-size=1: V8's young generation stays at 1 MB a semi-space instead of growing
// to 16 MB under allocation pressure. A local user's flood of refused requests (issue 17 item 9,
// ~3,000 connections/s) grew agentd's RSS from 52.7 to 83.3 MB with the default and to 58.8 MB
// with this flag (bench/attacks.bench.ts, one run each, load average 8-10); the memory grown
// never went back to the OS.
export const agentdNodeOptions: readonly string[] = ['--max-opt=1', '--max-semi-space-size=1'];
