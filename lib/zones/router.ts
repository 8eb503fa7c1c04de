// The router picks the zone for a name: the one with the longest matching origin.
import { relativeLabels } from '../dns/names.js';
import type { Zone } from './zone.js';

/** Route is a zone and the labels of the name in front of its origin. */
export interface Route {
  zone: Zone;
  labels: string[];
}

/** Router finds the most specific zone for a name. */
export class Router {
  private readonly zones: Zone[];

  constructor(zones: readonly Zone[]) {
    this.zones = [...zones].sort((a, b) => b.origin.length - a.origin.length);
  }

  /** route matches a lower-case FQDN; undefined when no zone holds it. */
  route(lowerName: string): Route | undefined {
    const zone = this.zoneFor(lowerName);
    return zone ? { zone, labels: relativeLabels(lowerName, zone.origin)! } : undefined;
  }

  /** zoneFor finds the zone of a lower-case FQDN without splitting it, for callers that need no labels. */
  zoneFor(lowerName: string): Zone | undefined {
    for (const zone of this.zones) {
      const o = zone.origin;
      if (lowerName === o || (lowerName.endsWith(o) && lowerName.charCodeAt(lowerName.length - o.length - 1) === 0x2e) || o === '.') return zone;
    }
    return undefined;
  }
}
