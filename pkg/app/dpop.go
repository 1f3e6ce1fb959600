package app

import (
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/dpop"
	"github.com/rotor-auth/rotor/pkg/mac"
)

// DPoPVerifier is the proof check of the token endpoints and of the
// authorizer alike, nil when ROTOR_DPOP is off: the iat window's future
// edge is the deployment's clock leeway; each proof's jti is spent in
// replay (the store: one conditional write shared by every container);
// with ROTOR_DPOP_NONCE, server nonces are MACs of the time window under
// macs' key, so every container, token function or authorizer, accepts
// every other's without storing them (nonces without a key fail closed:
// every proof is answered 503, never accepted without its nonce).
func DPoPVerifier(cfg config.Config, replay dpop.ReplayCache, macs mac.Source) *dpop.Verifier {
	if cfg.DPoP == "" || cfg.DPoP == config.DPoPOff {
		return nil
	}
	v := &dpop.Verifier{Leeway: cfg.ClockLeeway, Replay: replay}
	if cfg.DPoPNonce {
		v.Nonces = &dpop.Nonces{MAC: macs}
	}
	return v
}
