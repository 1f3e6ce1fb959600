package throttle

import "net/netip"

// Attempt keys. Each names what its failures are counted against, with a
// kind prefix, so no key of one kind can ever equal a key of another (a
// username that looks like "ip#10.0.0.1" is still "user#ip#10.0.0.1").

// UserKey counts the failures of clients without a valid device token for a
// normalised username.
func UserKey(username string) string { return "user#" + username }

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
