// The embedded file registry: a JSON or YAML catalog file, watched (directory events,
// with a poll behind them). An edit applies within milliseconds; an invalid edit keeps
// the last good catalog and logs why. Large reloads are read in a worker thread and
// indexed a part at a time (file-worker.ts): a catalog of 100,000 instances takes about
// a second to read, which must not pause answering.
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Snapshot } from '../catalog/snapshot.js';
import type { CatalogNode, Instance } from '../catalog/types.js';
import type { Logger } from '../log.js';
import { fileError, readCatalog } from './file-read.js';
import type { WorkerMessage, WorkerRequest } from './file-worker.js';
import { SnapshotRegistry } from './snapshot-registry.js';

/**
 * SMALL_FILE is the size below which a reload is read on the main thread: at most a few
 * tens of milliseconds even as YAML, and sooner than waking a worker. Larger files are
 * read in the worker thread.
 */
const SMALL_FILE = 64 * 1024;
/** PART_SIZE is how many instances the main thread indexes at a time during a reload (a few milliseconds). */
const PART_SIZE = 2000;
/** SETTLE_MS is how long a burst of file events may last before the file is read. */
const SETTLE_MS = 5;
/** SHRINK_WARNING: a reload keeping less than this share of the instances, written in place, is logged loudly. */
const SHRINK_WARNING = 0.5;

/** FileVersion identifies a version of the file: a new inode (renamed over), size or mtime is a new version. */
interface FileVersion {
  key: string;
  inode: number;
  size: number;
}

/** FileRegistryOptions configure a FileRegistry. */
export interface FileRegistryOptions {
  path: string;
  datacenter: string;
  log: Logger;
  /** pollMs is how often the file's stat is checked; stat polling survives editors' rename-on-save. */
  pollMs?: number;
  /** readerIdleMs is how long the reader thread waits for another reload before it ends (READER_IDLE_MS). */
  readerIdleMs?: number;
}

/**
 * READER_IDLE_MS: the reader thread (an isolate of its own, ~20 MB of RSS measured with a
 * 100,000-instance catalog) ends this long after its last reload and starts again with the
 * next: a burst of edits reuses it, a quiet catalog does not pay for it.
 */
const READER_IDLE_MS = 30000;

/** FileRegistry serves the catalog in one file and reloads it when the file changes. */
export class FileRegistry extends SnapshotRegistry {
  readonly name = 'file';
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private loading: Promise<void> = Promise.resolve();
  /** seen is the file version last read, valid or not, so each version is read once. */
  private seen: FileVersion = { key: '', inode: 0, size: 0 };
  private reader: Worker | undefined;
  private readerIdle: NodeJS.Timeout | undefined;
  private watcher: FSWatcher | undefined;
  private settle: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private checkAgain = false;

  constructor(private readonly options: FileRegistryOptions) {
    super(options.datacenter);
    this.log = options.log.child({ component: 'registry/file', path: options.path });
  }

  /** load reads and validates the file on this thread (start-up: nothing is served yet); it throws, naming the entry and field. */
  async load(): Promise<void> {
    // The version is taken before reading: a write that lands during the read changes it again.
    this.seen = await this.version().catch((err: unknown) => Promise.reject(fileError(this.options.path, err)));
    this.replace(await this.loadHere());
  }


  /** loadHere reads a small file on this thread. */
  private async loadHere(): Promise<Snapshot> {
    const { nodes, instances } = await readCatalog(this.options.path, this.localDc);
    return new Snapshot(this.localDc, nodes, instances);
  }

  /** startReader starts the worker thread that reads reloads of a large file; it stays for READER_IDLE_MS after each. */
  private startReader(): Worker {
    const request: WorkerRequest = { path: this.options.path, datacenter: this.localDc, partSize: PART_SIZE };
    const worker = new Worker(new URL('./file-worker.js', import.meta.url), { workerData: request });
    worker.unref();
    // A reader that dies is replaced at the next reload.
    worker.once('exit', () => {
      if (this.reader === worker) this.reader = undefined;
    });
    return worker;
  }

  /** loadAside has the reader read the file and builds the new catalog a part at a time, beside the one in service. */
  private loadAside(): Promise<Snapshot> {
    clearTimeout(this.readerIdle);
    const worker = (this.reader ??= this.startReader());
    const next = new Snapshot(this.localDc, [], []);
    let onMessage: (m: WorkerMessage) => void = () => undefined;
    let onExit: (code: number) => void = () => undefined;
    return new Promise<Snapshot>((resolve, reject) => {
      onMessage = (m) => {
        if (m.kind === 'error') return reject(new Error(m.message));
        next.addNodes(m.nodes as CatalogNode[]);
        next.addInstances(m.instances as Instance[]);
        if (m.last) resolve(next);
        // Let queries in before the next part.
        else setImmediate(() => worker.postMessage('next'));
      };
      onExit = (code) => reject(new Error(`${this.options.path}: reading stopped (worker exit ${code})`));
      worker.on('message', onMessage);
      worker.once('exit', onExit);
      worker.postMessage('read');
    }).finally(() => {
      worker.off('message', onMessage);
      worker.off('exit', onExit);
      this.readerIdle = setTimeout(() => {
        if (this.reader !== worker) return;
        this.reader = undefined;
        void worker.terminate();
      }, this.options.readerIdleMs ?? READER_IDLE_MS);
      this.readerIdle.unref();
    });
  }

  /** readerRunning tells whether the reader thread is alive (for tests of its idle end). */
  readerRunning(): boolean {
    return this.reader !== undefined;
  }

  /** reload re-reads the file (the watch and SIGHUP call it); a failure is logged, the old catalog stays. */
  reload(): Promise<void> {
    this.loading = this.loading.then(async () => {
      try {
        const before = this.current.instanceCount;
        const inode = this.seen.inode;
        this.seen = await this.version();
        const next = this.seen.size > SMALL_FILE ? await this.loadAside() : await this.loadHere();
        // A file written in place can be read half-written, and a half file is often valid
        // (YAML cut at a line end): say so loudly. Writers should write aside and rename.
        if (next.instanceCount < before * SHRINK_WARNING && this.seen.inode === inode) {
          this.log.warn({ before, after: next.instanceCount }, 'catalog shrank by more than half in a write made in place; if a writer was still writing, it should write a new file and rename it over the old one');
        }
        this.replace(next);
        this.log.info({ instances: this.current.instanceCount }, 'catalog reloaded');
      } catch (err) {
        this.failures++;
        this.log.error({ err: (err as Error).message }, 'catalog file rejected; serving the last good catalog');
      }
    });
    return this.loading;
  }

  private async version(): Promise<FileVersion> {
    const s = await stat(this.options.path);
    return { key: `${s.ino}:${s.size}:${s.mtimeMs}`, inode: s.ino, size: s.size };
  }

  /**
   * start loads the file, then watches its directory and polls its stat behind that.
   * The version holds the inode, so a file renamed over the old one is a new version,
   * and comparing with the version last read (not the previous look) cannot miss a
   * write made just after start-up.
   */
  async start(): Promise<void> {
    await this.load();
    this.watchDirectory();
    this.timer = setInterval(() => this.check(), this.options.pollMs ?? 250);
    this.timer.unref();
  }

  /**
   * watchDirectory has the kernel say when the file changes, so an edit is served in
   * milliseconds rather than a polling period. The directory is watched, not the file,
   * so that a file renamed over the old one (editors, sed -i, write-then-rename) is seen
   * too. Where a filesystem gives no events, the poll still finds every change.
   */
  private watchDirectory(): void {
    const name = basename(this.options.path);
    try {
      this.watcher = watch(dirname(this.options.path), { persistent: false }, (_event, file) => {
        if (file !== null && file !== name) return;
        // A burst of writes is one change: look once it has settled.
        clearTimeout(this.settle);
        this.settle = setTimeout(() => this.check(), SETTLE_MS);
        this.settle.unref();
      });
      this.watcher.on('error', (err) => {
        this.log.warn({ err: err.message }, 'cannot watch the catalog directory; polling only');
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'cannot watch the catalog directory; polling only');
    }
  }

  /** check looks at the file once at a time; a request during a look is one more look after it. */
  private check(): void {
    if (this.checking) {
      this.checkAgain = true;
      return;
    }
    this.checking = this.poll().finally(() => {
      this.checking = undefined;
      if (this.checkAgain) {
        this.checkAgain = false;
        this.check();
      }
    });
  }

  private async poll(): Promise<void> {
    let now: FileVersion;
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
    if (now.key !== this.seen.key) await this.reload();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    clearTimeout(this.settle);
    this.watcher?.close();
    this.watcher = undefined;
    await this.checking;
    await this.loading;
    clearTimeout(this.readerIdle);
    await this.reader?.terminate();
    this.reader = undefined;
  }
}
