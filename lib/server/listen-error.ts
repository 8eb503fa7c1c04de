// Start-up failures of a listener, in plain words: which listener, where, and what to do.

/** listenError says which listener could not start, where, and what to do about it. */
export function listenError(err: unknown, listener: string, host: string, port: number): Error {
  const where = `${listener} listener ${host.includes(':') ? `[${host}]` : host}:${port}`;
  switch ((err as NodeJS.ErrnoException).code) {
    case 'EACCES':
      return new Error(
        `${where}: permission denied. Ports below 1024 need root or the CAP_NET_BIND_SERVICE capability (setcap cap_net_bind_service=+ep "$(command -v node)"); or listen on a port above 1023 and map it (docker run -p 53:8600/udp -p 53:8600/tcp)`,
      );
    case 'EADDRINUSE':
      return new Error(`${where}: address already in use: another process listens there (ss -lunp and ss -ltnp show which)`);
    case 'EADDRNOTAVAIL':
      return new Error(`${where}: this host has no such address`);
    default:
      return new Error(`${where}: ${(err as Error).message}`);
  }
}
