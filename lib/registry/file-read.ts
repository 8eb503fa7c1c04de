// Reading a catalog file: the text, decoded as JSON or YAML, validated. Shared by the
// first load (on the main thread, before anything is served) and by reloads (in a
// worker thread, file-worker.ts, so that answering never waits on a large file).
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { validateCatalog, type CatalogData } from './file-schema.js';

/** fileError words a failure to open the catalog file, naming it. */
export function fileError(path: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new Error(`${path}: no such file (check --file)`);
  if (code === 'EISDIR') return new Error(`${path}: is a directory; --file names the catalog file itself`);
  if (code === 'EACCES') return new Error(`${path}: permission denied`);
  return new Error(`${path}: ${(err as Error).message}`);
}

/** readCatalog reads, decodes and validates a catalog file; errors start with the path and name the entry and field. */
export async function readCatalog(path: string, datacenter: string): Promise<CatalogData> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw fileError(path, err);
  }
  let data: unknown;
  try {
    // JSON is YAML too, but JSON.parse reads a large catalog many times faster.
    data = /^\s*[{[]/.test(text) ? JSON.parse(text) : parseYaml(text, { prettyErrors: true });
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message.split('\n')[0]}`);
  }
  try {
    return validateCatalog(data, datacenter);
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
}
