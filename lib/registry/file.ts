// The embedded file registry: a JSON or YAML catalog file, watched. An edit applies
// within a second; an invalid edit keeps the last good catalog and logs why.
import { readFile, stat } from 'node:fs/promises';
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
  private timer: NodeJS.Timeout | undefined;
  private loading: Promise<void> = Promise.resolve();
  /** seen identifies the file version last read, valid or not, so each version is read once. */
  private seen = '';

  constructor(private readonly options: FileRegistryOptions) {
    super(options.datacenter);
    this.log = options.log.child({ component: 'registry/file', path: options.path });
  }

  /** load reads and validates the file; it throws, naming the entry and field, and keeps the old catalog. */
  async load(): Promise<void> {
    // The version is taken before reading: a write that lands during the read changes it again.
    this.seen = await this.version();
    const text = await readFile(this.options.path, 'utf8');
    let data: unknown;
    try {
      // JSON is YAML too, but JSON.parse reads a large catalog many times faster.
      data = /^\s*[{[]/.test(text) ? JSON.parse(text) : parseYaml(text, { prettyErrors: true });
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
        this.failures++;
        this.log.error({ err: (err as Error).message }, 'catalog file rejected; serving the last good catalog');
      }
    });
    return this.loading;
  }

  private async version(): Promise<string> {
    const s = await stat(this.options.path);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  }

  /**
   * start loads the file, then polls its stat. Polling (not fs.watch) survives editors
   * that save by renaming a new file over the old one, and comparing with the version
   * last read (not the previous poll) cannot miss a write made just after start-up.
   */
  async start(): Promise<void> {
    await this.load();
    this.timer = setInterval(() => void this.poll(), this.options.pollMs ?? 250);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    let now: string;
    try {
      now = await this.version();
    } catch (err) {
      // Removed, or being replaced: the last good catalog keeps answering (and ages, SPEC §2a).
      if (this.liveness.current()) this.log.warn({ err: (err as Error).message }, 'catalog file cannot be read; serving the last good catalog');
      this.liveness.down();
      return;
    }
    if (!this.liveness.current()) this.log.info('catalog file readable again');
    // Readable is current, even when a bad edit keeps the last good catalog in service.
    this.liveness.up();
    if (now !== this.seen) await this.reload();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.loading;
  }
}
