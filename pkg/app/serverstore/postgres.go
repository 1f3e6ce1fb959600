//go:build !rotor_nopostgres

package serverstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rotor-auth/rotor/pkg/store/postgres"
)

// Postgres returns the PostgreSQL store on a pool for url. The pool
// connects on first use; a Lambda function, which serves one request at a
// time, keeps maxConns (when > 0 and the URL sets no pool_max_conns).
func Postgres(ctx context.Context, url string, maxConns int32) (*postgres.Store, error) {
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, errors.New("serverstore: ROTOR_DATABASE_URL does not parse") // may hold a password: not echoed
	}
	if maxConns > 0 && !strings.Contains(url, "pool_max_conns") {
		pc.MaxConns = maxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("serverstore: postgres pool: %w", err)
	}
	return postgres.New(pool), nil
}

func openPostgres(ctx context.Context, url string, maxConns int32) (Store, error) {
	return Postgres(ctx, url, maxConns)
}
