#!/usr/bin/env node
// The container's health check: one DNS query for the zone's SOA to the address srvdns
// listens on (SRVDNS_LISTEN, 0.0.0.0 and :: asked on loopback); healthy when a NOERROR
// reply comes within 2 s. Exit 0 healthy, 1 not (Docker's HEALTHCHECK convention).
import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';

const listen = (process.env.SRVDNS_LISTEN ?? '127.0.0.1:8600').split(',')[0]!.trim();
const m = /^\[?([^\]]*)\]?:(\d+)$/.exec(listen);
const host = !m || m[1] === '0.0.0.0' || m[1] === '' ? '127.0.0.1' : m[1] === '::' ? '::1' : m[1]!;
const port = Number(m?.[2] ?? 8600);
const zone = (process.env.SRVDNS_DOMAIN ?? 'consul.').replace(/\.$/, '');

// A query: id, flags 0, one question, the zone's labels, type SOA (6), class IN (1).
const labels = zone.split('.').filter(Boolean).map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')]));
const query = Buffer.concat([Buffer.from([0x53, 0x44, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]), ...labels, Buffer.from([0, 0, 6, 0, 1])]);

const socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
const timer = setTimeout(() => {
  process.stderr.write(`no reply from ${host}:${port} within 2 s\n`);
  process.exit(1);
}, 2000);
socket.on('message', (reply) => {
  clearTimeout(timer);
  const rcode = reply[3]! & 0xf;
  if (rcode !== 0) process.stderr.write(`${zone} SOA: rcode ${rcode}\n`);
  process.exit(rcode === 0 ? 0 : 1);
});
socket.send(query, port, host);
