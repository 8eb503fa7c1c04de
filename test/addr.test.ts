// ipFamily answers as node:net's isIP does, for every input: it replaces isIP on the
// path that builds answers, so it must accept exactly the same IPv4 text.
import t from 'tap';
import { isIP } from 'node:net';
import { ipFamily } from '../lib/dns/addr.js';

t.test('ipFamily agrees with node:net isIP on a table of edge cases', async (t) => {
  const cases = [
    '0.0.0.0', '255.255.255.255', '10.0.0.1', '1.2.3.4', '256.1.1.1', '1.2.3.256', '01.2.3.4', '1.2.3.04', '1.2.3.0',
    '1.2.3', '1.2.3.4.5', '1.2.3.4.', '.1.2.3.4', '1..3.4', '1.2.3.4 ', ' 1.2.3.4', '1234.1.1.1', '1.2.3.a', '1.2.3.-1',
    '::1', '::', 'fe80::1', '::ffff:1.2.3.4', 'fd00::1:2', '2001:db8::', 'fe80::1%eth0', ':::1', 'gggg::1',
    '', 'a', 'host.example.', 'web-1', '999.999.999.999', '1.2.3.4/24', '１.2.3.4',
  ];
  for (const c of cases) t.equal(ipFamily(c), isIP(c), JSON.stringify(c));
});

t.test('ipFamily agrees with isIP on 100,000 random strings of digits, dots and colons', async (t) => {
  let a = 7;
  const rand = (): number => ((a = (Math.imul(a, 1103515245) + 12345) >>> 0) / 4294967296);
  const alphabet = '0123456789.....:af';
  let differ = 0;
  for (let i = 0; i < 100000; i++) {
    let s = '';
    const n = 1 + Math.floor(rand() * 16);
    for (let j = 0; j < n; j++) s += alphabet[Math.floor(rand() * alphabet.length)];
    if (ipFamily(s) !== isIP(s)) {
      if (differ++ < 5) t.fail(`${JSON.stringify(s)}: ipFamily ${ipFamily(s)}, isIP ${isIP(s)}`);
    }
  }
  t.equal(differ, 0, 'no string where they differ');
});
