// The one place where errors become response codes (Consul's rCodeFromError, h3's onError).
import { Rcode } from '../dns/constants.js';
import { QueryError } from '../dns/parse.js';
import { RegistryUnavailable } from '../registry/registry.js';

/** rcodeFromError maps anything thrown while answering to the RCODE a client gets. */
export function rcodeFromError(err: unknown): Rcode {
  // A query we could not read: FORMERR (RFC 1035 §4.1.1).
  if (err instanceof QueryError) return Rcode.FORMERR;
  // The registry cannot answer now, or its data is too stale: SERVFAIL, so that the
  // client (or its resolver) tries again rather than caching a negative answer.
  if (err instanceof RegistryUnavailable) return Rcode.SERVFAIL;
  // Anything else is a failure of ours: SERVFAIL too, and it was logged.
  return Rcode.SERVFAIL;
}
