// The Permissions status section: Full Disk Access on macOS, read through node-mac-permissions
// (an optional dependency that only installs on macOS). Elsewhere it does not apply.
import { createRequire } from 'node:module';

export interface PermissionsStatus {
  full_disk_access: string;
}

export function readPermissions(): PermissionsStatus {
  if (process.platform !== 'darwin') return { full_disk_access: 'not applicable' };
  try {
    const permissions = createRequire(import.meta.url)('node-mac-permissions') as {
      getAuthStatus(type: string): string;
    };
    return { full_disk_access: permissions.getAuthStatus('full-disk-access') };
  } catch (error) {
    return {
      full_disk_access: `unknown (node-mac-permissions unavailable: ${(error as Error).message.split('\n')[0]})`,
    };
  }
}
