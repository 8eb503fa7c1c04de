# SRV lookup with dnspython (Debian's python3-dnspython): UDP first, TCP when truncated.
import sys
import dns.resolver

port, name = int(sys.argv[1]), sys.argv[2]
r = dns.resolver.Resolver(configure=False)
r.nameservers = ["127.0.0.1"]
r.port = port
r.lifetime = 5
for rr in r.resolve(name, "SRV", tcp=False):
    print(rr.priority, rr.weight, rr.port, rr.target.to_text())
