// The scrub decision, and nothing else: for each item listed from the keychain, delete or keep,
// and why. Pure (no I/O), so that the property tests can run it over any item set.
import type { KeychainItem } from '../../native/keychain.js';
import type { TagAttribute } from './config.js';
import { tagOf } from './tag.js';

/** Why an item is deleted or kept. */
export type DecisionReason =
  /** Tagged for another tenant: deleted. */
  | 'other_tenant'
  /** Tagged for the current tenant: kept. */
  | 'current_tenant'
  /** No tenant tag: kept, or deleted when ScrubUntagged is set. */
  | 'untagged'
  /** Its service is not in ScrubServices (the OS returned more than was asked): kept. */
  | 'service_not_listed';

export interface Decision {
  item: KeychainItem;
  action: 'delete' | 'keep';
  reason: DecisionReason;
  /** The tag the item carries, or null. */
  tag: string | null;
}

export interface DecisionPolicy {
  /** tenantTag(TenantDomain). */
  tenantTag: string;
  services: readonly string[];
  scrubUntagged: boolean;
  tagAttribute: TagAttribute;
}

export function decide(item: KeychainItem, policy: DecisionPolicy): Decision {
  const tag = tagOf(item[policy.tagAttribute]);
  if (!policy.services.includes(item.service)) return { item, action: 'keep', reason: 'service_not_listed', tag };
  if (tag === null) return { item, action: policy.scrubUntagged ? 'delete' : 'keep', reason: 'untagged', tag };
  if (tag === policy.tenantTag) return { item, action: 'keep', reason: 'current_tenant', tag };
  return { item, action: 'delete', reason: 'other_tenant', tag };
}

export function decideAll(items: readonly KeychainItem[], policy: DecisionPolicy): Decision[] {
  return items.map((item) => decide(item, policy));
}
