// Every capability of the agent, in the order agentd attaches them and `status` shows them.
// A new capability is its folder (agent/<name>/index.ts exporting a Capability) plus one
// line here.
import type { Capability } from './capability.js';
import { clock } from './clock/index.js';
import { keychain } from './keychain/index.js';
import { profiles } from './profiles/index.js';
import { sso } from './sso/index.js';
import { telemetry } from './telemetry/index.js';
import { trust } from './trust/index.js';

export const capabilities: readonly Capability[] = [clock, trust, sso, keychain, telemetry, profiles];
