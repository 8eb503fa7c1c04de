// The file registry's reloads, off the event loop: this worker thread, started once,
// reads, decodes and validates the catalog when asked ('read'), then hands it over a
// part at a time, each part only when the main thread asks for it ('next'), so that
// indexing a large catalog never pauses answering.
import { parentPort, workerData } from 'node:worker_threads';
import type { CatalogData } from './file-schema.js';
import { readCatalog } from './file-read.js';

/** WorkerRequest is what the worker needs: the file, its datacenter, and how many instances a part holds. */
export interface WorkerRequest {
  path: string;
  datacenter: string;
  partSize: number;
}

/** WorkerMessage is one step of a reload, from the worker to the registry. */
export type WorkerMessage =
  | { kind: 'part'; nodes: unknown[]; instances: unknown[]; last: boolean }
  | { kind: 'error'; message: string };

const port = parentPort!;
const { path, datacenter, partSize } = workerData as WorkerRequest;
let catalog: CatalogData | undefined;
let at = 0;

function sendPart(): void {
  if (!catalog) return;
  const part = catalog.instances.slice(at, at + partSize);
  const first = at === 0;
  at += partSize;
  const last = at >= catalog.instances.length;
  port.postMessage({ kind: 'part', nodes: first ? catalog.nodes : [], instances: part, last } satisfies WorkerMessage);
  if (last) catalog = undefined;
}

port.on('message', (m: 'read' | 'next') => {
  if (m === 'next') return sendPart();
  readCatalog(path, datacenter).then(
    (c) => {
      catalog = c;
      at = 0;
      sendPart();
    },
    (err: unknown) => port.postMessage({ kind: 'error', message: err instanceof Error ? err.message : String(err) } satisfies WorkerMessage),
  );
});
