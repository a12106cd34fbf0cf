// Notices when a configuration file changes. MDM replaces the managed-preferences file by
// rename, so the watch is on its directory (a watch on the file would follow the old inode).
// A directory that does not exist yet (no profile installed) is polled instead. Bursts of
// events (write + rename + chmod) are debounced into one call.
import { existsSync, watch, watchFile, unwatchFile, type FSWatcher } from 'node:fs';
import path from 'node:path';

export interface ConfigWatch {
  close(): void;
}

export function watchConfigFiles(
  files: readonly string[],
  onChange: (file: string) => void,
  debounceMs = 500,
  pollMs = 5000,
): ConfigWatch {
  let timer: NodeJS.Timeout | null = null;
  let changed = '';
  const fire = (file: string) => {
    changed = file;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      onChange(changed);
    }, debounceMs);
  };
  const watchers: FSWatcher[] = [];
  const polled: string[] = [];
  const byDirectory = new Map<string, string[]>();
  for (const file of files) {
    const dir = path.dirname(file);
    byDirectory.set(dir, [...(byDirectory.get(dir) ?? []), file]);
  }
  for (const [dir, dirFiles] of byDirectory) {
    const names = new Set(dirFiles.map((f) => path.basename(f)));
    if (existsSync(dir)) {
      try {
        const watcher = watch(dir, { persistent: false }, (_event, filename) => {
          if (filename === null) fire(dirFiles[0]!);
          else if (names.has(filename.toString())) fire(path.join(dir, filename.toString()));
        });
        watcher.on('error', () => {});
        watchers.push(watcher);
        continue;
      } catch {
        // Fall back to polling below.
      }
    }
    for (const file of dirFiles) {
      watchFile(file, { persistent: false, interval: pollMs }, (current, previous) => {
        if (current.mtimeMs !== previous.mtimeMs || current.ino !== previous.ino || current.size !== previous.size)
          fire(file);
      });
      polled.push(file);
    }
  }
  return {
    close() {
      if (timer) clearTimeout(timer);
      timer = null;
      for (const w of watchers) w.close();
      for (const f of polled) unwatchFile(f);
    },
  };
}
