// SkyDNS/CoreDNS etcd semantics (SPEC §3) against a real etcd, through srvdns, over UDP
// and TCP, with the same records read from etcd's v3 and v2 keyspaces.
import t from 'tap';
import { query, type Proto } from './helpers/client.js';
import { EtcdServer } from './helpers/etcd.js';
import { eventually, expect } from './helpers/eventually.js';
import { startOnBothApis, startServer, type TestServer } from './helpers/server.js';

const P = '/skydns/local/skydns';
const records: Record<string, string> = {
  [`${P}/east/prod/web/1`]: '{"host":"10.0.1.1","port":8080}',
  [`${P}/east/prod/web/2`]: '{"host":"10.0.1.2","port":8080,"weight":300}',
  [`${P}/east/prod/web/3`]: '{"host":"10.0.1.3","port":8081,"priority":20}',
  [`${P}/east/prod/my/1`]: '{"host":"10.0.2.1"}',
  [`${P}/east/prod/my1/1`]: '{"host":"10.0.2.2"}',
  [`${P}/west/prod/web/1`]: '{"host":"10.0.3.1","port":8080}',
  [`${P}/v6/1`]: '{"host":"fd00::1","port":80}',
  [`${P}/alias/1`]: '{"host":"my.prod.east.skydns.local"}',
  [`${P}/ext/1`]: '{"host":"www.example.com","port":443}',
  [`${P}/loop1/1`]: '{"host":"loop2.skydns.local"}',
  [`${P}/loop2/1`]: '{"host":"loop1.skydns.local"}',
  [`${P}/txt/1`]: '{"text":"hello world"}',
  [`${P}/mail/1`]: '{"host":"10.0.4.1","mail":true,"priority":5}',
  [`${P}/strip/x/y`]: '{"host":"10.0.5.1","port":53,"targetstrip":1}',
  [`${P}/ttl/1`]: '{"host":"10.0.6.1","ttl":60}',
  [`${P}/bad/1`]: '{"host":"10.0.7.1","port":"80"}',
  [`${P}/bad/2`]: '{"host":"10.0.7.2","port":80}',
  [`${P}/bad/3`]: '{not json',
  [`${P}/grp/a/1`]: '{"host":"10.0.8.1","group":"g1"}',
  [`${P}/grp/a/b/2`]: '{"host":"10.0.8.2","group":"g1"}',
  [`${P}/grp/a/b/3`]: '{"host":"10.0.8.3","group":"g2"}',
  [`${P}/grp/a/b/4`]: '{"host":"10.0.8.4"}',
  [`${P}/dns/ns/ns1`]: '{"host":"10.0.9.1"}',
};

const SOA = 'skydns.local. 0 IN SOA ns.dns.skydns.local. hostmaster.skydns.local. SERIAL 3600 600 86400 0';
const web = 'web.prod.east.skydns.local.';

interface Case {
  name: string;
  q: [string, string];
  rcode?: string;
  answer: string[];
  additional?: string[];
}

const cases: Case[] = [
  { name: 'a leaf key answers its address', q: ['1.web.prod.east.skydns.local', 'A'], answer: ['1.web.prod.east.skydns.local. 0 IN A 10.0.1.1'] },
  { name: 'a name answers its whole subtree', q: ['web.prod.east.skydns.local', 'A'], answer: [`${web} 0 IN A 10.0.1.1`, `${web} 0 IN A 10.0.1.2`, `${web} 0 IN A 10.0.1.3`] },
  {
    name: 'SRV weights are percentages per priority, targets named after keys, with glue',
    q: ['web.prod.east.skydns.local', 'SRV'],
    answer: [`${web} 0 IN SRV 10 25 8080 1.${web}`, `${web} 0 IN SRV 10 75 8080 2.${web}`, `${web} 0 IN SRV 20 100 8081 3.${web}`],
    additional: [`1.${web} 0 IN A 10.0.1.1`, `2.${web} 0 IN A 10.0.1.2`, `3.${web} 0 IN A 10.0.1.3`],
  },
  { name: 'a higher name gathers every leaf below', q: ['prod.east.skydns.local', 'A'], answer: ['10.0.1.1', '10.0.1.2', '10.0.1.3', '10.0.2.1', '10.0.2.2'].map((a) => `prod.east.skydns.local. 0 IN A ${a}`) },
  { name: '"my" never matches "my1"', q: ['my.prod.east.skydns.local', 'A'], answer: ['my.prod.east.skydns.local. 0 IN A 10.0.2.1'] },
  { name: '* matches any one label', q: ['web.prod.*.skydns.local', 'A'], answer: ['10.0.1.1', '10.0.1.2', '10.0.1.3', '10.0.3.1'].map((a) => `web.prod.*.skydns.local. 0 IN A ${a}`) },
  { name: 'any matches any one label', q: ['any.prod.east.skydns.local', 'A'], answer: ['10.0.1.1', '10.0.1.2', '10.0.1.3', '10.0.2.1', '10.0.2.2'].map((a) => `any.prod.east.skydns.local. 0 IN A ${a}`) },
  { name: 'AAAA for an IPv6 host', q: ['1.v6.skydns.local', 'AAAA'], answer: ['1.v6.skydns.local. 0 IN AAAA fd00::1'] },
  { name: 'A of an IPv6-only name is NODATA', q: ['v6.skydns.local', 'A'], answer: [] },
  { name: 'a host name in the zone is a CNAME followed to its address', q: ['alias.skydns.local', 'A'], answer: ['alias.skydns.local. 0 IN CNAME my.prod.east.skydns.local.', 'my.prod.east.skydns.local. 0 IN A 10.0.2.1'] },
  { name: 'a host name outside the zone is a CNAME', q: ['ext.skydns.local', 'A'], answer: ['ext.skydns.local. 0 IN CNAME www.example.com.'] },
  { name: 'SRV to an outside host name targets it', q: ['ext.skydns.local', 'SRV'], answer: ['ext.skydns.local. 0 IN SRV 10 100 443 www.example.com.'], additional: [] },
  { name: 'a CNAME loop answers nothing', q: ['loop1.skydns.local', 'A'], answer: [] },
  { name: 'text is TXT', q: ['txt.skydns.local', 'TXT'], answer: ['txt.skydns.local. 0 IN TXT "hello world"'] },
  { name: 'mail: true is MX, with glue', q: ['mail.skydns.local', 'MX'], answer: ['mail.skydns.local. 0 IN MX 5 1.mail.skydns.local.'], additional: ['1.mail.skydns.local. 0 IN A 10.0.4.1'] },
  { name: 'targetstrip drops labels from the SRV target', q: ['y.x.strip.skydns.local', 'SRV'], answer: ['y.x.strip.skydns.local. 0 IN SRV 10 100 53 x.strip.skydns.local.'], additional: ['x.strip.skydns.local. 0 IN A 10.0.5.1'] },
  { name: "a value's ttl wins", q: ['1.ttl.skydns.local', 'A'], answer: ['1.ttl.skydns.local. 60 IN A 10.0.6.1'] },
  { name: 'ours: malformed values are skipped, the rest answers', q: ['bad.skydns.local', 'A'], answer: ['bad.skydns.local. 0 IN A 10.0.7.2'] },
  { name: 'group: the shortest key sets the group, ungrouped values stay', q: ['a.grp.skydns.local', 'A'], answer: ['10.0.8.1', '10.0.8.2', '10.0.8.4'].map((a) => `a.grp.skydns.local. 0 IN A ${a}`) },
  { name: 'group: disagreement at the shortest depth means no grouping', q: ['b.a.grp.skydns.local', 'A'], answer: ['10.0.8.2', '10.0.8.3', '10.0.8.4'].map((a) => `b.a.grp.skydns.local. 0 IN A ${a}`) },
  { name: 'nothing at or below the name is NXDOMAIN', q: ['nothing.skydns.local', 'A'], rcode: 'NXDOMAIN', answer: [] },
  { name: 'a name with records but no TXT is NODATA', q: ['east.skydns.local', 'TXT'], answer: [] },
  { name: 'a path label above records asked for a type none has is NODATA (RFC 8020)', q: ['prod.east.skydns.local', 'AAAA'], answer: [] },
  { name: 'a name whose records are text only is NODATA for A', q: ['txt.skydns.local', 'A'], answer: [] },
  { name: 'MX of a name without mail is NODATA', q: ['1.web.prod.east.skydns.local', 'MX'], answer: [] },
  { name: 'NS at the apex from ns.dns records, with glue', q: ['skydns.local', 'NS'], answer: ['skydns.local. 0 IN NS ns1.ns.dns.skydns.local.'], additional: ['ns1.ns.dns.skydns.local. 0 IN A 10.0.9.1'] },
  { name: 'SOA at the apex', q: ['skydns.local', 'SOA'], answer: [SOA] },
  { name: 'owner names echo the question case', q: ['My.Prod.EAST.skydns.local', 'A'], answer: ['My.Prod.EAST.skydns.local. 0 IN A 10.0.2.1'] },
];

let etcd: EtcdServer;
t.before(async () => {
  etcd = new EtcdServer();
  await etcd.start();
  for (const [k, v] of Object.entries(records)) {
    await etcd.v3.put(k).value(v);
    await etcd.v2Set(k, v);
  }
});
t.teardown(() => etcd.stop());

for (const api of ['v3', 'v2']) {
  t.test(`etcd ${api}`, async (t) => {
    const srv = await startServer(null, ['--etcd', etcd.url, '--etcd-api', api]);
    t.teardown(() => srv.stop());
    for (const proto of ['udp', 'tcp'] as Proto[]) {
      for (const c of cases) {
        const r = await query(srv.port, c.q[0], c.q[1], { proto });
        const label = `${proto}: ${c.name}`;
        t.equal(r.rcode, c.rcode ?? 'NOERROR', `${label}: rcode`);
        t.equal(r.flags.aa, true, `${label}: AA`);
        t.same([...r.answer].sort(), [...c.answer].sort(), `${label}: answer`);
        if (c.answer.length === 0) t.same(r.authority, [SOA], `${label}: SOA in authority`);
        if (c.additional) t.same([...r.additional].sort(), [...c.additional].sort(), `${label}: additional`);
      }
    }
  });
}

async function aOf(port: number, name: string): Promise<string[]> {
  return (await query(port, name, 'A')).answer.map((a) => a.split(' ').pop()!).sort();
}

t.test('changes: a put and a delete show at once, v3 and v2', async (t) => {
  const { srv3, srv2 } = await startOnBothApis(t, etcd.url);
  await etcd.v3.put(`${P}/live/1`).value('{"host":"10.1.0.1"}');
  await etcd.v2Set(`${P}/live/1`, '{"host":"10.1.0.2"}');
  await eventually(async () => expect((await aOf(srv3.port, 'live.skydns.local')).join() === '10.1.0.1', 'v3 put'), 2000, 5);
  await eventually(async () => expect((await aOf(srv2.port, 'live.skydns.local')).join() === '10.1.0.2', 'v2 put'), 2000, 5);
  await etcd.v3.delete().key(`${P}/live/1`);
  await etcd.v2Delete(`${P}/live`, true);
  await eventually(async () => expect((await query(srv3.port, 'live.skydns.local', 'A')).rcode === 'NXDOMAIN', 'v3 delete'), 2000, 5);
  await eventually(async () => expect((await query(srv2.port, 'live.skydns.local', 'A')).rcode === 'NXDOMAIN', 'v2 directory delete'), 2000, 5);
  t.pass('puts and deletes, both APIs');
});

t.test('leases and TTLs: an expired key leaves the answers', async (t) => {
  const { srv3, srv2 } = await startOnBothApis(t, etcd.url);
  const lease = etcd.v3.lease(1, { autoKeepAlive: false });
  await lease.put(`${P}/leased/1`).value('{"host":"10.2.0.1"}');
  await etcd.v2Set(`${P}/leased/1`, '{"host":"10.2.0.2"}', 1);
  await eventually(async () => expect((await aOf(srv3.port, 'leased.skydns.local')).length === 1, 'v3 leased key'));
  await eventually(async () => expect((await aOf(srv2.port, 'leased.skydns.local')).length === 1, 'v2 ttl key'));
  await eventually(async () => expect((await query(srv3.port, 'leased.skydns.local', 'A')).rcode === 'NXDOMAIN', 'v3 lease expired'), 5000);
  await eventually(async () => expect((await query(srv2.port, 'leased.skydns.local', 'A')).rcode === 'NXDOMAIN', 'v2 ttl expired'), 5000);
  t.pass('expired keys are gone');
});
