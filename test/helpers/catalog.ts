// The catalog most tests query: every shape of SPEC §1 in a few entries.
export const testCatalog = {
  nodes: [
    { name: 'node1', address: '10.0.0.1', meta: { rack: 'a' } },
    { name: 'node2', address: '10.0.0.2' },
    { name: 'node3', address: '10.0.0.3' },
    { name: 'Node6', address: 'fd00::6' },
    { name: 'hostnode', address: 'host.example.net' },
    { name: 'metanode', address: '10.0.0.9', meta: { 'rfc1035-spf': 'v=spf1 -all', owner: 'team-a' } },
  ],
  services: [
    { name: 'web', id: 'web-1', node: 'node1', port: 8080, tags: ['http', 'v1'], weights: { passing: 10, warning: 1 } },
    { name: 'web', id: 'web-2', node: 'node2', port: 8080, tags: ['http', 'v2'], weights: { passing: 10, warning: 1 } },
    { name: 'web', id: 'web-3', node: 'node3', address: '10.0.1.3', port: 8081, tags: ['v2'], weights: { passing: 10, warning: 1 }, health: 'warning' },
    { name: 'web', id: 'web-4', node: 'node3', port: 8082, tags: ['http', 'legacy'], health: 'critical' },
    // web-5 duplicates web-1's node, address and port: one SRV for both.
    { name: 'web', id: 'web-5', node: 'node1', port: 8080, tags: ['http'] },
    { name: 'db', id: 'db-1', node: 'node1', port: 5432, tags: ['primary', 'v1.primary'] },
    { name: 'db', id: 'db-2', node: 'node2', port: 5432, tags: ['replica', 'v3.blue'], priority: 2 },
    { name: 'api', id: 'api-1', node: 'Node6', port: 9000 },
    { name: 'api', id: 'api-2', node: 'node1', address: 'fd00::7', port: 9001 },
    { name: 'payments', id: 'payments-1', node: 'node3', port: 7000, health: 'critical' },
    { name: 'search', id: 'search-1', node: 'node1', address: 'search.example.com', port: 9200 },
    { name: 'Mixed', id: 'mixed-1', node: 'node2', port: 1234, tags: ['Canary'] },
  ],
};
