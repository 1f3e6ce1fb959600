package throttle

import "net/netip"

// Attempt keys. Each names what its failures are counted against, with a
// kind prefix, so no key of one kind can ever equal a key of another (a
// username that looks like "ip#10.0.0.1" is still "user#ip#10.0.0.1").

// UserKey counts the failures of clients without a valid device token for a
// normalised username.
func UserKey(username string) string { return "user#" + username }

// DevicesKey counts the failures of all of a normalised username's device
// tokens together: only a client holding one (so, once, the password) can
// count under it, and its budget bounds what collecting tokens is worth.
func DevicesKey(username string) string { return "devices#" + username }

// StaleDevicesKey counts the failures of clients whose device token for a
// normalised username was issued before the account's credentials changed
// (or before a revoke-all): all such tokens together, under the username
// limit. Only a client that once logged in as the username can hold one, so
// a stranger who locked the username cannot lock the owner's devices out
// after a password change, and collecting tokens before it buys nothing.
func StaleDevicesKey(username string) string { return "stale#" + username }

// SessionKey counts wrong current passwords given by one session on the
// password change route.
func SessionKey(sessionID string) string { return "session#" + sessionID }

// IPKey counts the failures of clients without a valid device token from one
// source address, across usernames. IPv6 addresses count per /64, the block a
// single subscriber usually gets; IPv4-mapped addresses count as IPv4.
func IPKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		if len(ip) > 64 {
			ip = ip[:64]
		}
		return "ip#" + ip
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return "ip#" + p.String()
	}
	return "ip#" + a.String()
}

// IPv6 blocks counted together: a subscriber usually gets a /64, a site a
// /56 or a /48, so one attacker holding a /48 has 65,536 /64s but only one
// /48. Each wider block gets its own, larger budget (see auth.Service).
var ipv6Blocks = [...]int{64, 56, 48}

// IPKeys returns the attempt keys of a source address: IPKey's alone for
// IPv4 (and anything unparsable), and for IPv6 the keys of its /64 (IPKey),
// /56 and /48, in that order, each counted on its own.
func IPKeys(ip string) []string {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Unmap().Is6() {
		return []string{IPKey(ip)}
	}
	a = a.Unmap().WithZone("")
	keys := make([]string, 0, len(ipv6Blocks))
	for _, bits := range ipv6Blocks {
		p, _ := a.Prefix(bits)
		keys = append(keys, "ip#"+p.String())
	}
	return keys
}
