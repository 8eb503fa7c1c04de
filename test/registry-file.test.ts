// The file registry: the shared conformance suite, then what is particular to files.
import t from 'tap';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { silentLogger } from '../lib/log.js';
import { FileRegistry } from '../lib/registry/file.js';
import { registrySuite, type CatalogInput } from './conformance/registry-suite.js';
import { testCatalog } from './helpers/catalog.js';
import { query } from './helpers/client.js';
import { eventually, expect } from './helpers/eventually.js';
import { capturingLogger, startServer } from './helpers/server.js';

function tempFile(name = 'catalog.yaml'): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'srvdns-file-'));
  return { dir, file: join(dir, name) };
}

/** writeAtomically replaces the file the way editors and config tools do: write aside, rename over. */
function writeAtomically(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

t.test('conformance', async (t) => {
  registrySuite(
    t,
    async () => {
      const { dir, file } = tempFile();
      writeFileSync(file, 'nodes: []\nservices: []\n');
      const registry = new FileRegistry({ path: file, datacenter: 'dc1', log: silentLogger, pollMs: 20 });
      await registry.start();
      return {
        registry,
        datacenter: 'dc1',
        set: async (c: CatalogInput) => writeAtomically(file, stringify(c)),
        close: async () => {
          await registry.stop();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
    { health: true, tags: true, weights: true, nodes: true, reverseServices: true },
  );
});

const invalid: { name: string; text: string; error: RegExp }[] = [
  { name: 'a port out of range', text: 'nodes: [{name: n1, address: 10.0.0.1}]\nservices: [{name: web, node: n1, port: 70000}]', error: /services\[0\] \(web\): port: expected an integer from 0 to 65535/ },
  { name: 'a port as a string', text: 'nodes: [{name: n1, address: 10.0.0.1}]\nservices: [{name: web, node: n1, port: "80"}]', error: /services\[0\] \(web\): port: .*number/ },
  { name: 'a missing service name', text: 'nodes: [{name: n1, address: 10.0.0.1}]\nservices: [{node: n1}]', error: /services\[0\]: name: required/ },
  { name: 'an unknown node', text: 'nodes: []\nservices: [{name: web, node: n9}]', error: /services\[0\] \(web\): node: no node named 'n9'/ },
  { name: 'a bad health', text: 'nodes: [{name: n1, address: 10.0.0.1}]\nservices: [{name: web, node: n1, health: sick}]', error: /services\[0\] \(web\): health: / },
  { name: 'a bad node address', text: 'nodes: [{name: n1, address: "not an address!"}]', error: /nodes\[0\] \(n1\): address: expected an IP address or a hostname/ },
  { name: 'an unknown key', text: 'nodes: [{name: n1, address: 10.0.0.1}]\nservices: [{name: web, node: n1, helth: passing}]', error: /services\[0\] \(web\): unknown key 'helth'/ },
  { name: 'an unknown top-level key', text: 'nodez: []', error: /unknown key 'nodez'/ },
  { name: 'a duplicate id on one node', text: 'nodes: [{name: n1, address: 10.0.0.1}]\nservices: [{name: web, node: n1}, {name: web, node: n1}]', error: /services\[1\] \(web\): id: 'web' is already used on node 'n1'/ },
  { name: 'a service name with a dot', text: 'nodes: [{name: n1, address: 10.0.0.1}]\nservices: [{name: a.b, node: n1}]', error: /services\[0\] \(a\.b\): name: expected one DNS label/ },
  { name: 'broken YAML', text: 'nodes: [{name: n1', error: /catalog\.yaml: / },
  { name: 'weights.passing of 0', text: 'nodes: [{name: n1, address: 10.0.0.1}]\nservices: [{name: web, node: n1, weights: {passing: 0}}]', error: /services\[0\] \(web\): weights\.passing: / },
];

t.test('an invalid file is refused at start, naming the entry and the field', async (t) => {
  for (const c of invalid) {
    const { dir, file } = tempFile();
    writeFileSync(file, c.text);
    const registry = new FileRegistry({ path: file, datacenter: 'dc1', log: silentLogger });
    await t.rejects(registry.start(), c.error, c.name);
    await registry.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

t.test('a missing file is refused at start', async (t) => {
  const registry = new FileRegistry({ path: '/nonexistent/catalog.yaml', datacenter: 'dc1', log: silentLogger });
  await t.rejects(registry.start(), { message: '/nonexistent/catalog.yaml: no such file (check --file)' });
  const dir = new FileRegistry({ path: '/tmp', datacenter: 'dc1', log: silentLogger });
  await t.rejects(dir.start(), { message: '/tmp: is a directory; --file names the catalog file itself' });
});

t.test('JSON files are read too', async (t) => {
  const { dir, file } = tempFile('catalog.json');
  writeFileSync(file, JSON.stringify({ nodes: [{ name: 'n1', address: '10.0.0.1' }], services: [{ name: 'web', node: 'n1', port: 80 }] }));
  const registry = new FileRegistry({ path: file, datacenter: 'dc1', log: silentLogger });
  await registry.start();
  t.teardown(async () => {
    await registry.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  t.same(registry.service('web', 'dc1')?.map((i) => `${i.id} ${i.port} ${i.health} ${i.priority}`), ['web 80 passing 1'], 'defaults applied');
});

t.test('an invalid edit keeps the last good catalog and logs why; a good edit then applies', async (t) => {
  const { dir, file } = tempFile();
  writeFileSync(file, 'nodes: [{name: n1, address: 10.0.0.1}]\nservices: [{name: web, node: n1, port: 80}]\n');
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const registry = new FileRegistry({ path: file, datacenter: 'dc1', log: pino(sink), pollMs: 20 });
  await registry.start();
  t.teardown(async () => {
    await registry.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  writeAtomically(file, 'nodes: [{name: n1, address: 10.0.0.1}]\nservices: [{name: web, node: n1, port: "eighty"}]\n');
  await eventually(() => expect(lines.some((l) => l.level === 50), 'an error was logged'));
  const logged = lines.find((l) => l.level === 50)!;
  t.match(String(logged.err), /services\[0\] \(web\): port/, 'the log names entry and field');
  t.equal(logged.component, 'registry/file');
  t.same(registry.service('web', 'dc1')?.map((i) => i.port), [80], 'still serving the last good catalog');
  writeAtomically(file, 'nodes: [{name: n1, address: 10.0.0.1}]\nservices: [{name: web, node: n1, port: 81}]\n');
  await eventually(() => expect(registry.service('web', 'dc1')?.[0]?.port === 81, 'port 81'));
  t.pass('the next good edit applies');
});

t.test('an edit applies within a second', async (t) => {
  const { dir, file } = tempFile();
  writeFileSync(file, 'nodes: [{name: n1, address: 10.0.0.1}]\n');
  // The default poll interval: what users get.
  const registry = new FileRegistry({ path: file, datacenter: 'dc1', log: silentLogger });
  await registry.start();
  t.teardown(async () => {
    await registry.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const started = Date.now();
  writeFileSync(file, 'nodes: [{name: n1, address: 10.0.0.1}]\nservices: [{name: web, node: n1, port: 80}]\n');
  await eventually(() => expect(registry.service('web', 'dc1') !== undefined, 'web appeared'), 1000, 10);
  t.ok(Date.now() - started < 1000, `applied after ${Date.now() - started} ms`);
});

t.test('--max-stale: a catalog file that cannot be read keeps answering for max-stale, then SERVFAIL; back, served again', async (t) => {
  const srv = await startServer(testCatalog, ['--max-stale', '1s', '--metrics', '127.0.0.1:0']);
  t.teardown(() => srv.stop());
  t.equal((await query(srv.port, 'web.service.consul', 'A')).answer.length, 3);
  // Readable for longer than max-stale is current.
  await new Promise((r) => setTimeout(r, 1200));
  t.equal((await query(srv.port, 'web.service.consul', 'A')).rcode, 'NOERROR', 'current while readable');
  rmSync(srv.file);
  const gone = Date.now();
  await eventually(async () => {
    const metrics = await (await fetch(`http://127.0.0.1:${srv.server.metricsPort}/metrics`)).text();
    expect((await query(srv.port, 'web.service.consul', 'A')).answer.length === 3 && /^srvdns_stale_answers_total [1-9]/m.test(metrics), 'a stale answer counted');
  }, 900, 20);
  await eventually(async () => expect((await query(srv.port, 'web.service.consul', 'A')).rcode === 'SERVFAIL', 'SERVFAIL'), 3000);
  t.ok(Date.now() - gone >= 1000, `SERVFAIL only after max-stale (${Date.now() - gone} ms)`);
  srv.write(testCatalog);
  await eventually(async () => expect((await query(srv.port, 'web.service.consul', 'A')).answer.length === 3, 'served again'), 3000);
  t.pass('the file is back and served');
});

t.test('a catalog that shrinks by more than half in a write made in place is logged loudly (it may be half-written)', async (t) => {
  const { dir, file } = tempFile();
  const services = (n: number): string => `nodes: [{name: n1, address: 10.0.0.1}]\nservices:\n${Array.from({ length: n }, (_, i) => `  - {name: s${i}, node: n1, port: 80}\n`).join('')}`;
  writeFileSync(file, services(10));
  const { log, lines } = capturingLogger();
  const registry = new FileRegistry({ path: file, datacenter: 'dc1', log, pollMs: 50 });
  await registry.start();
  t.teardown(async () => {
    await registry.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  writeFileSync(file, services(8)); // in place, a small change: quiet
  await eventually(() => expect(registry.service('s9', 'dc1') === undefined, 'applied'));
  writeFileSync(file, services(3)); // in place, most of it gone
  await eventually(() => expect(registry.service('s3', 'dc1') === undefined, 'applied'));
  const warnings = lines.filter((l) => String(l.msg).includes('rename it over'));
  t.equal(warnings.length, 1, 'one loud line, for the big shrink only');
  t.same([warnings[0]?.before, warnings[0]?.after], [8, 3]);
  writeFileSync(`${file}.tmp`, services(1));
  renameSync(`${file}.tmp`, file); // replaced by a rename: a writer that knows what it does
  await eventually(() => expect(registry.service('s1', 'dc1') === undefined, 'applied'));
  t.equal(lines.filter((l) => String(l.msg).includes('rename it over')).length, 1, 'a rename is not warned about');
});

t.test('a catalog file that disappears is logged at once; the last good catalog answers; when it is back it is served', async (t) => {
  const { dir, file } = tempFile();
  writeFileSync(file, 'nodes: [{name: n1, address: 10.0.0.1}]\nservices: [{name: web, node: n1, port: 80}]\n');
  const { log, lines } = capturingLogger();
  const registry = new FileRegistry({ path: file, datacenter: 'dc1', log });
  await registry.start();
  t.teardown(async () => {
    await registry.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  rmSync(file);
  const gone = Date.now();
  await eventually(() => expect(lines.some((l) => l.msg === 'catalog file cannot be read; serving the last good catalog'), 'logged'), 1000, 10);
  t.ok(Date.now() - gone < 1000, `logged ${Date.now() - gone} ms after the file went, without a SIGHUP`);
  t.equal(registry.service('web', 'dc1')?.length, 1, 'the last good catalog answers');
  writeFileSync(file, 'nodes: [{name: n1, address: 10.0.0.1}]\nservices: [{name: api, node: n1, port: 81}]\n');
  await eventually(() => expect(registry.service('api', 'dc1') !== undefined, 'served again'), 2000, 10);
  t.ok(lines.some((l) => l.msg === 'catalog file readable again'), 'its return is logged');
});

t.test('edits are seen from directory events, not only the poll: in place and renamed over', async (t) => {
  const { dir, file } = tempFile();
  writeFileSync(file, 'nodes: [{name: n1, address: 10.0.0.1}]\n');
  // A poll of a minute: only the events can be this quick.
  const registry = new FileRegistry({ path: file, datacenter: 'dc1', log: silentLogger, pollMs: 60000 });
  await registry.start();
  t.teardown(async () => {
    await registry.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const cases: [string, (text: string) => void, string][] = [
    ['written in place', (text) => writeFileSync(file, text), 'web'],
    ['written aside and renamed over', (text) => writeAtomically(file, text), 'api'],
  ];
  for (const [how, write, service] of cases) {
    const started = Date.now();
    write(`nodes: [{name: n1, address: 10.0.0.1}]\nservices: [{name: ${service}, node: n1, port: 80}]\n`);
    await eventually(() => expect(registry.service(service, 'dc1') !== undefined, `${service} served`), 2000, 5);
    t.ok(Date.now() - started < 2000, `${how}: served after ${Date.now() - started} ms`);
  }
});

t.test('the reader thread of a large file starts with a reload and ends when reloads stop (its isolate is ~20 MB)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'srvdns-reader-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'catalog.json');
  const big = (n: number): string =>
    JSON.stringify({ nodes: [{ name: 'n1', address: '10.1.0.1' }], services: Array.from({ length: n }, (_, i) => ({ name: `svc${i}`, id: `svc${i}`, node: 'n1', port: 1000 + (i % 1000) })) });
  writeFileSync(file, big(2000)); // well over 64 KB: reloads go through the reader
  const r = new FileRegistry({ path: file, datacenter: 'dc1', log: silentLogger, readerIdleMs: 300 });
  await r.start();
  t.teardown(() => r.stop());
  t.equal(r.readerRunning(), false, 'no reader before any reload');
  writeFileSync(`${file}.tmp`, big(2001));
  renameSync(`${file}.tmp`, file);
  await r.reload();
  t.ok(r.service('svc2000', 'dc1'), 'the reload was read');
  t.equal(r.readerRunning(), true, 'the reader stays for the next edit');
  await new Promise((resolve) => setTimeout(resolve, 600));
  t.equal(r.readerRunning(), false, 'and ends when no reload comes');
  writeFileSync(`${file}.tmp`, big(2002));
  renameSync(`${file}.tmp`, file);
  await r.reload();
  t.ok(r.service('svc2001', 'dc1'), 'a later reload starts it again');
});
