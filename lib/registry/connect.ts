// Pieces every networked registry shares: waiting for the first sync without blocking
// start-up forever, and the HTTP(S) agent with optional CA and client certificate.
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';

/**
 * firstSyncOrTimeout waits for the first sync at most timeoutMs. It resolves false on
 * timeout: the registry then serves (SERVFAIL, or nothing) and keeps trying, so that a
 * DNS server started before its registry still comes up.
 */
export async function firstSyncOrTimeout(first: Promise<void>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
    timer.unref();
  });
  const synced = await Promise.race([first.then(() => true as const), timeout]);
  clearTimeout(timer);
  return synced;
}

/** TlsFiles are PEM files for an https:// endpoint; all optional. */
export interface TlsFiles {
  caFile: string | undefined;
  certFile: string | undefined;
  keyFile: string | undefined;
}

/** keepAliveAgent is the agent for an endpoint: https with the TLS files, or plain http. */
export function keepAliveAgent(secure: boolean, tls: TlsFiles): HttpAgent | HttpsAgent {
  if (!secure) return new HttpAgent({ keepAlive: true });
  return new HttpsAgent({
    keepAlive: true,
    ca: tls.caFile ? readFileSync(tls.caFile) : undefined,
    cert: tls.certFile ? readFileSync(tls.certFile) : undefined,
    key: tls.keyFile ? readFileSync(tls.keyFile) : undefined,
  });
}
