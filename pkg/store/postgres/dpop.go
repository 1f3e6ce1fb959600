package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rotor-auth/rotor/pkg/dpop"
)

var _ dpop.ReplayCache = (*Store)(nil)

// SpendDPoPProof implements dpop.ReplayCache with one statement
// (spend_dpop_proof.sql), which also purges a few keys past their window.
func (st *Store) SpendDPoPProof(ctx context.Context, key string, expires time.Time) error {
	var ok bool
	err := st.DB.QueryRow(ctx, st.q("spend_dpop_proof"), pgx.NamedArgs{
		"key": key, "expires_at": expires, "purge": st.purge(),
	}).Scan(&ok)
	if errors.Is(err, pgx.ErrNoRows) {
		return dpop.ErrReplayed
	}
	if err != nil {
		return fmt.Errorf("postgres: spend dpop proof: %w", err)
	}
	return nil
}
