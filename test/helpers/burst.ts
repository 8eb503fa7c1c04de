// A burst client for test/udp-io.test.ts, run inside a network namespace (`ip netns exec`):
// waits until srvdns on 127.0.0.1:<port> answers, sends <count> SRV queries for <name> at
// once and prints {"sent","got"} when every reply has arrived or after 10 s.
import { createSocket } from 'node:dgram';
import { buildQuery } from './client.js';

const [port, name, count] = [Number(process.argv[2]), process.argv[3]!, Number(process.argv[4])];
const socket = createSocket('udp4');
const PROBE = 0xffff; // the id of the readiness probes; the burst's ids are 0..count-1
let got = 0;
let ready = false;
const done = (): void => {
  console.log(JSON.stringify({ sent: count, got }));
  process.exit(0);
};
socket.on('message', (msg) => {
  if (msg.readUInt16BE(0) === PROBE) {
    if (ready) return;
    ready = true;
    clearInterval(probe);
    socket.setRecvBufferSize(64 << 20);
    for (let i = 0; i < count; i++) socket.send(buildQuery(name, 'SRV', { id: i, edns: { udpSize: 4096 } }), port, '127.0.0.1');
    setTimeout(done, 10_000);
  } else if (++got === count) done();
});
const probe = setInterval(() => ready || socket.send(buildQuery(name, 'SRV', { id: PROBE, edns: { udpSize: 4096 } }), port, '127.0.0.1'), 100);
socket.bind(0, '127.0.0.1');
