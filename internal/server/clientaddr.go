package server

import (
	"net"
	"net/http"
	"strings"

	"github.com/realclientip/realclientip-go"
)

// clientAddrs finds the address a request comes from, for the public rate
// limit. Behind load balancers every request arrives from a proxy, so the
// X-Forwarded-For header of a trusted proxy names the client instead: its
// rightmost address that is not itself a trusted proxy, the nearest hop a
// client could not have written. A header sent by anyone else is ignored.
type clientAddrs struct {
	proxies []net.IPNet
	header  realclientip.Strategy
}

// ParseTrustedProxies reads a comma-separated list of addresses and CIDR
// ranges, such as "10.0.0.0/8, 192.0.2.7".
func ParseTrustedProxies(list string) ([]net.IPNet, error) {
	var ranges []string
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s != "" {
			ranges = append(ranges, s)
		}
	}
	return realclientip.AddressesAndRangesToIPNets(ranges...)
}

func newClientAddrs(proxies []net.IPNet) clientAddrs {
	if len(proxies) == 0 {
		return clientAddrs{}
	}
	return clientAddrs{proxies: proxies,
		header: realclientip.Must(realclientip.NewRightmostTrustedRangeStrategy("X-Forwarded-For", proxies))}
}

// of returns the client address of r.
func (c clientAddrs) of(r *http.Request) string {
	peer := realclientip.RemoteAddrStrategy{}.ClientIP(nil, r.RemoteAddr)
	if peer == "" {
		return r.RemoteAddr
	}
	if c.header == nil || !c.trusted(peer) {
		return peer
	}
	if addr := c.header.ClientIP(r.Header, r.RemoteAddr); addr != "" {
		return addr
	}
	return peer // no header, or every hop a proxy of ours
}

func (c clientAddrs) trusted(addr string) bool {
	ip := net.ParseIP(addr)
	for _, n := range c.proxies {
		if ip != nil && n.Contains(ip) {
			return true
		}
	}
	return false
}
