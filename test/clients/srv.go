// SRV lookup with Go's own resolver (net.Resolver, PreferGo): UDP, and TCP on TC.
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"
)

func main() {
	server := "127.0.0.1:" + os.Args[1]
	r := &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			d := net.Dialer{Timeout: 5 * time.Second}
			return d.DialContext(ctx, network, server)
		},
	}
	_, addrs, err := r.LookupSRV(context.Background(), "", "", os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, a := range addrs {
		fmt.Println(a.Priority, a.Weight, a.Port, a.Target)
	}
}
