// The layout shows the pipeline: imports only go down, never up (STYLE "The shape of the
// house"). A query travels bin -> assembly -> server -> zones -> answer ->
// catalog/registries -> dns; a module may import its own layer or one below.
import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, normalize } from 'node:path';

/** LAYERS, top first: a path prefix (under lib/, or bin/) and its depth. */
const LAYERS: [string, number][] = [
  ['bin/', 0],
  ['lib/srvdns.ts', 1],
  ['lib/workers.ts', 1],
  ['lib/metrics.ts', 1],
  ['lib/config.ts', 1],
  ['lib/config/', 1],
  ['lib/server/', 2],
  ['lib/forward/', 2],
  ['lib/zones/', 3],
  ['lib/answer/', 4],
  ['lib/catalog/', 5],
  ['lib/registry/', 5],
  ['lib/dns/', 6],
  ['lib/log.ts', 7],
];

function depthOf(path: string): number {
  const layer = LAYERS.find(([prefix]) => path === prefix || path.startsWith(prefix));
  if (!layer) throw new Error(`${path}: in no layer; add it to LAYERS`);
  return layer[1];
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

t.test('no module imports from a layer above its own', async (t) => {
  const upward: string[] = [];
  const files = [...sources('lib'), ...sources('bin')];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^import [^'"]*['"](\.[^'"]+)['"]/gm)) {
      const target = relative('.', normalize(join(dirname(file), m[1]!.replace(/\.js$/, '.ts'))));
      if (depthOf(target) < depthOf(file)) upward.push(`${file} -> ${target}`);
    }
  }
  t.ok(files.length > 50, `${files.length} modules read`);
  t.same(upward, [], 'imports that run against the pipeline');
});
