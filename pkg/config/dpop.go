package config

import "fmt"

// DPoP modes (ROTOR_DPOP), RFC 9449 sender-constrained tokens.
const (
	// DPoPOff ignores proofs: every token is a bearer token, as before DPoP.
	DPoPOff = "off"
	// DPoPOptional binds a session to the key of a valid proof presented at
	// login; requests without one get bearer sessions.
	DPoPOptional = "optional"
	// DPoPRequired refuses logins without a proof and, at the edge, access
	// tokens that are not bound to a key.
	DPoPRequired = "required"
)

// dpop reads the DPoP settings.
func (r *reader) dpop(c *Config) {
	r.str("ROTOR_DPOP", &c.DPoP)
	r.boolean("ROTOR_DPOP_NONCE", &c.DPoPNonce)
}

// validateDPoP checks the DPoP mode.
func (c Config) validateDPoP() []error {
	switch c.DPoP {
	case DPoPOff, DPoPOptional, DPoPRequired:
		return nil
	}
	return []error{fmt.Errorf("config: ROTOR_DPOP=%q: want off, optional or required", c.DPoP)}
}
