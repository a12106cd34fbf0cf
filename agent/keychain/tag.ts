// The tenant tag: the lowercase hex SHA-256 of the lowercase tenant domain, stored in an item's
// comment (or label) attribute by whoever creates the item (SPEC §1.4).
import { createHash } from 'node:crypto';

const tagPattern = /^[0-9a-f]{64}$/;

/** The tag of `domain` ("acme.okta.com" → 64 lowercase hex digits). */
export function tenantTag(domain: string): string {
  const canonical = domain.trim().toLowerCase();
  if (canonical === '') throw new Error('the tenant domain is empty');
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

/**
 * The tag an attribute value carries, or null when it carries none. Only a 64-digit hex value
 * is a tag (case and surrounding spaces ignored): any other text, e.g. a note a user typed,
 * makes the item untagged, never "another tenant's".
 */
export function tagOf(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const normalized = value.trim().toLowerCase();
  return tagPattern.test(normalized) ? normalized : null;
}
