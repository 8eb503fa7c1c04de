// The floor for any Node DNS server: a bare dgram socket that answers every query with a
// precomputed reply, copying in only the query id. Usage: node floor.js PORT HEXREPLY
// It prints the first query it gets, so that the bench can check that srvdns answers
// that very query with the same bytes.
import { createSocket } from 'node:dgram';

const [port, hex] = process.argv.slice(2);
const reply = Buffer.from(hex!, 'hex');
const socket = createSocket('udp4');
let first = true;
socket.on('message', (msg, peer) => {
  if (first) {
    first = false;
    process.stdout.write(`first query ${msg.toString('hex')}\n`);
  }
  const out = Buffer.allocUnsafe(reply.length);
  reply.copy(out);
  out[0] = msg[0]!;
  out[1] = msg[1]!;
  socket.send(out, peer.port, peer.address);
});
socket.bind(Number(port), '127.0.0.1', () => process.stdout.write(`floor listening on ${socket.address().port}\n`));
// A clean exit on SIGINT, so that tools wrapping the process (callgrind) write their output.
process.on('SIGINT', () => socket.close(() => process.exit(0)));
