// npm's install script: builds srvdns's optional native part (udp_batch.c, batched UDP)
// with node-gyp. It never fails the install: without a C compiler, make and python3,
// srvdns reads and writes UDP through Node's dgram instead (about twice the CPU per cached query),
// and says so when it starts. `npm rebuild srvdns` builds it later.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
if (process.platform !== 'linux') {
  console.log(`srvdns: the batched UDP part is for Linux (recvmmsg); on ${process.platform} UDP goes through Node's dgram`);
  process.exit(0);
}
// Node's own headers when they are installed beside it (distribution packages), so that
// node-gyp need not download them.
const prefix = resolve(process.execPath, '../..');
const args = ['rebuild'];
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include/node/node_api.h'))) args.push(`--nodedir=${prefix}`);
const gyp = process.env.npm_config_node_gyp;
const r = gyp ? spawnSync(process.execPath, [gyp, ...args], { cwd: here, stdio: 'inherit' }) : spawnSync('node-gyp', args, { cwd: here, stdio: 'inherit', shell: true });
if (r.status !== 0) {
  console.warn(
    "srvdns: the batched UDP part did not build (it needs a C compiler, make and python3); UDP goes through Node's dgram, at about twice the CPU per cached query. Install them and run `npm rebuild srvdns` to build it.",
  );
}
