// The embedded file registry: a JSON or YAML catalog file, watched. An edit applies
// within a second; an invalid edit keeps the last good catalog and logs why.
import { readFile } from 'node:fs/promises';
import { unwatchFile, watchFile, type Stats } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { Logger } from '../log.js';
import { parseCatalog } from './file-schema.js';
import { SnapshotRegistry } from './snapshot-registry.js';

/** FileRegistryOptions configure a FileRegistry. */
export interface FileRegistryOptions {
  path: string;
  datacenter: string;
  log: Logger;
  /** pollMs is how often the file's stat is checked; stat polling survives editors' rename-on-save. */
  pollMs?: number;
}

/** FileRegistry serves the catalog in one file and reloads it when the file changes. */
export class FileRegistry extends SnapshotRegistry {
  readonly name = 'file';
  private readonly log: Logger;
  private watching = false;
  private loading: Promise<void> = Promise.resolve();

  constructor(private readonly options: FileRegistryOptions) {
    super(options.datacenter);
    this.log = options.log.child({ component: 'registry/file', path: options.path });
  }

  /** load reads and validates the file; it throws, naming the entry and field, and keeps the old catalog. */
  async load(): Promise<void> {
    const text = await readFile(this.options.path, 'utf8');
    let data: unknown;
    try {
      data = parseYaml(text, { prettyErrors: true });
    } catch (err) {
      throw new Error(`${this.options.path}: ${(err as Error).message.split('\n')[0]}`);
    }
    let next;
    try {
      next = parseCatalog(data, this.localDc);
    } catch (err) {
      throw new Error(`${this.options.path}: ${(err as Error).message}`);
    }
    this.replace(next);
  }

  /** reload re-reads the file (the watch and SIGHUP call it); a failure is logged, the old catalog stays. */
  reload(): Promise<void> {
    this.loading = this.loading.then(async () => {
      try {
        await this.load();
        this.log.info({ instances: this.current.instanceCount }, 'catalog reloaded');
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'catalog file rejected; serving the last good catalog');
      }
    });
    return this.loading;
  }

  async start(): Promise<void> {
    await this.load();
    this.watching = true;
    watchFile(this.options.path, { interval: this.options.pollMs ?? 250, persistent: false }, this.onStat);
  }

  private readonly onStat = (cur: Stats, prev: Stats): void => {
    if (cur.mtimeMs === prev.mtimeMs && cur.size === prev.size && cur.ino === prev.ino) return;
    if (cur.nlink === 0 && cur.ino === 0) return; // removed: wait for it to come back
    void this.reload();
  };

  async stop(): Promise<void> {
    if (this.watching) unwatchFile(this.options.path, this.onStat);
    this.watching = false;
    await this.loading;
  }
}
