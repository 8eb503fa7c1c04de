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
    for (const zone of this.zones) {
      const labels = relativeLabels(lowerName, zone.origin);
      if (labels) return { zone, labels };
    }
    return undefined;
  }
}
