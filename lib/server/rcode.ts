// The one place where errors become response codes (Consul's rCodeFromError, h3's onError).
import { Rcode } from '../dns/constants.js';

/** rcodeFromError maps anything thrown while answering to the RCODE a client gets. */
export function rcodeFromError(_err: unknown): Rcode {
  // Every failure to answer a well-formed query is the server's: registry unavailable,
  // data too stale, a bug. RFC 1035 §4.1.1: SERVFAIL.
  return Rcode.SERVFAIL;
}
