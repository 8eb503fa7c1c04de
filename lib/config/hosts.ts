// Host names in --listen and --recursor, resolved once at start-up to every address of
// the name (as the system resolver gives them), and logged; IP literals pass as they are.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Logger } from '../log.js';
import type { Endpoint } from './values.js';

/** resolveEndpoints replaces each host name by all of its addresses, keeping order and port. */
export async function resolveEndpoints(endpoints: readonly Endpoint[], option: string, log: Logger): Promise<Endpoint[]> {
  const out: Endpoint[] = [];
  for (const e of endpoints) {
    if (isIP(e.host)) {
      out.push(e);
      continue;
    }
    let addresses: string[];
    try {
      addresses = (await lookup(e.host, { all: true, verbatim: true })).map((a) => a.address);
    } catch (err) {
      throw new Error(`${option} ${e.host}: cannot resolve the host name (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    log.info({ option, host: e.host, addresses }, `${option} ${e.host} resolved to ${addresses.join(', ')}`);
    for (const address of new Set(addresses)) out.push({ host: address, port: e.port });
  }
  return out;
}
