package redis

import (
	"context"
	"fmt"
	"time"

	"github.com/rotor-auth/rotor/pkg/dpop"
)

var _ dpop.ReplayCache = (*Store)(nil)

// SpendDPoPProof implements dpop.ReplayCache with one script
// (spend_dpop_proof.lua): SET NX with the key's expiry, so the key lives
// exactly as long as its proof could be replayed, {ns}:dpj:<key>.
func (st *Store) SpendDPoPProof(ctx context.Context, key string, expires time.Time) error {
	v, err := st.run(ctx, "spend_dpop_proof", []string{st.key("dpj", key)}, ms(expires)).Text()
	switch {
	case err != nil:
		return fmt.Errorf("redis: spend dpop proof: %w", err)
	case v == "replayed":
		return dpop.ErrReplayed
	case v != "ok":
		return fmt.Errorf("redis: spend dpop proof: unexpected reply %q", v)
	}
	return nil
}
