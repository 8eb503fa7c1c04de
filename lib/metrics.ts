// Every metric srvdns exports, defined in one place (Prometheus naming: srvdns_ prefix,
// _total counters, _seconds histograms, few labels). Counting a query costs one Map
// update; qtype labels are bounded to known types (others are OTHER), so no client can
// grow the label set; durations are sampled, one query in SAMPLE_EVERY.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { rcodeName, RRType } from './dns/constants.js';
import type { Source } from './registry/registry.js';
import type { AnswerCache } from './server/answer-cache.js';

/** SAMPLE_EVERY: one query in this many has its duration observed. */
export const SAMPLE_EVERY = 16;

/** MetricSource is what metrics read from a registry or etcd source. */
export type MetricSource = Pick<Source, 'name' | 'healthy' | 'stats'>;

/** Query counts live in a flat array indexed by (proto, qtype, rcode): one increment per query. */
const TYPE_NAMES = ['OTHER', ...Object.keys(RRType)];
const TYPE_INDEX = new Uint8Array(65536);
Object.values(RRType).forEach((v, i) => (TYPE_INDEX[v] = i + 1));
/** RCODES: the response codes srvdns sends fit in 5 bits (BADVERS, 16, is the largest). */
const RCODES = 32;
const countIndex = (tcp: number, qtype: number, rcode: number): number => (tcp * TYPE_NAMES.length + TYPE_INDEX[qtype & 0xffff]!) * RCODES + (rcode & (RCODES - 1));


/** Metrics holds the registry and the metrics srvdns updates. */
export class Metrics {
  readonly registry = new Registry();
  /** counts holds query counts by (proto, qtype, rcode); prom-client reads them at scrape time, as its label hashing per increment would cost the hot path. */
  private readonly counts = new Float64Array(2 * TYPE_NAMES.length * RCODES);
  readonly duration: Histogram;
  readonly staleAnswers: Counter;
  readonly forwardRequests: Counter<'upstream' | 'rcode'>;
  readonly forwardRejects: Counter;
  readonly rrlLimited: Counter<'action'>;

  constructor(sources: () => readonly MetricSource[], cache: () => AnswerCache | undefined) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const counts = this.counts;
    new Counter({
      name: 'srvdns_requests_total',
      help: 'DNS queries answered, by transport, query type and response code.',
      labelNames: ['proto', 'qtype', 'rcode'],
      registers,
      collect() {
        this.reset();
        counts.forEach((n, i) => {
          if (n === 0) return;
          const rcode = i % RCODES;
          const type = Math.floor(i / RCODES) % TYPE_NAMES.length;
          this.inc({ proto: i < counts.length / 2 ? 'udp' : 'tcp', qtype: TYPE_NAMES[type]!, rcode: rcodeName(rcode) }, n);
        });
      },
    });
    this.duration = new Histogram({
      name: 'srvdns_request_duration_seconds',
      help: `Time to answer a query, sampled one query in ${SAMPLE_EVERY}.`,
      buckets: [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1],
      registers,
    });
    new Counter({
      name: 'srvdns_answer_cache_hits_total',
      help: 'Queries answered from ready wire bytes.',
      registers,
      collect() {
        this.reset();
        this.inc(cache()?.hits ?? 0);
      },
    });
    new Counter({
      name: 'srvdns_answer_cache_misses_total',
      help: 'Queries whose answer had to be built.',
      registers,
      collect() {
        this.reset();
        this.inc(cache()?.misses ?? 0);
      },
    });
    new Gauge({
      name: 'srvdns_answer_cache_entries',
      help: 'Ready answers held (--answer-cache-size bounds their memory).',
      registers,
      collect() {
        this.set(cache()?.size ?? 0);
      },
    });
    new Gauge({
      name: 'srvdns_answer_cache_bytes',
      help: 'Memory the ready answers are counted at, each entry\'s overhead included.',
      registers,
      collect() {
        this.set(cache()?.byteSize ?? 0);
      },
    });
    // With --workers, the primary merges the workers' metrics: counters add up, but a
    // gauge describing the one registry is the same registry seen N times, so it is
    // merged by min (up: any worker cut off shows) or max, never summed.
    const perSource = (name: string, help: string, read: (s: MetricSource) => number, kind: 'counter' | 'min' | 'max'): void => {
      const collect = function (this: Gauge<'registry'> | Counter<'registry'>): void {
        this.reset();
        for (const s of sources()) this.inc({ registry: s.name }, read(s));
      };
      if (kind === 'counter') new Counter({ name, help, labelNames: ['registry'], registers, collect });
      else new Gauge({ name, help, labelNames: ['registry'], registers, collect, aggregator: kind });
    };
    perSource('srvdns_registry_up', 'Whether the registry answered its last exchange (1) or srvdns is serving stale data (0).', (s) => (s.healthy() ? 1 : 0), 'min');
    perSource('srvdns_registry_last_sync_timestamp_seconds', 'When the registry data was last known current.', (s) => s.stats().lastSync / 1000, 'max');
    perSource('srvdns_registry_errors_total', 'Failed registry requests, lost watches and skipped malformed entries.', (s) => s.stats().errors, 'counter');
    perSource('srvdns_catalog_instances', 'Instances (or etcd records) held in memory.', (s) => s.stats().records, 'max');
    this.staleAnswers = new Counter({ name: 'srvdns_stale_answers_total', help: 'Answers served while their registry was unreachable.', registers });
    this.rrlLimited = new Counter({
      name: 'srvdns_rrl_limited_total',
      help: 'UDP responses over the rate limit, by what was done: slipped (sent truncated) or dropped.',
      labelNames: ['action'],
      registers,
    });
    this.forwardRejects = new Counter({
      name: 'srvdns_forward_max_concurrent_rejects_total',
      help: 'Queries answered SERVFAIL at once because --recursor-max-concurrent queries were already in flight.',
      registers,
    });
    this.forwardRequests = new Counter({ name: 'srvdns_forward_requests_total', help: 'Queries forwarded to recursors, by upstream and response code.', labelNames: ['upstream', 'rcode'], registers });
  }

  /** request counts one answered query. */
  request(proto: 'udp' | 'tcp', qtype: number, rcode: number): void {
    const i = countIndex(proto === 'udp' ? 0 : 1, qtype, rcode);
    this.counts[i] = this.counts[i]! + 1;
  }
}
