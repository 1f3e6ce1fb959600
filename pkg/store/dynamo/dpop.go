package dynamo

import (
	"context"
	"time"

	"github.com/rotor-auth/rotor/pkg/dpop"
)

var _ dpop.ReplayCache = (*Store)(nil)

// dpopProofPrefix names a spent proof's item in the sessions table:
// "dpj#<replay key>", whose TTL attribute (expires_at, seconds) is when the
// proof's iat window closes. The authorizer's IAM policy may write only
// items under this prefix.
const dpopProofPrefix = "dpj#"

// SpendDPoPProof implements dpop.ReplayCache with one conditional PutItem
// (1 WCU): of any number of containers spending one proof, exactly one
// succeeds. An item past its window but not yet removed by TTL still refuses
// its key: a client never reuses a jti, and the proof's iat is refused by
// then anyway.
func (st *Store) SpendDPoPProof(ctx context.Context, key string, expires time.Time) error {
	it := item{"session_id": s(dpopProofPrefix + key), "expires_at": sec(expires.Add(time.Second))}
	return st.putNew(ctx, it, dpop.ErrReplayed, "dpop proof")
}
