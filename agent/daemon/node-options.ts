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
export const agentdNodeOptions: readonly string[] = ['--max-opt=1'];
