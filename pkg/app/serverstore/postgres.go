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
// time, keeps maxConns (when > 0 and the URL sets no pool_max_conns). A
// server (maxConns 0) keeps at least ServerMinConns.
func Postgres(ctx context.Context, url string, maxConns int32) (*postgres.Store, error) {
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, errors.New("serverstore: ROTOR_DATABASE_URL does not parse") // may hold a password: not echoed
	}
	switch {
	case strings.Contains(url, "pool_max_conns"):
	case maxConns > 0:
		pc.MaxConns = maxConns
	default:
		pc.MaxConns = max(pc.MaxConns, ServerMinConns)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("serverstore: postgres pool: %w", err)
	}
	return postgres.New(pool), nil
}

// ServerMinConns is the least pool size of a server's store. pgxpool's
// default is max(4, cores); but a refresh holds its connection mostly while
// its commit waits for the WAL flush (synchronous_commit on), not on CPU,
// so with more connections than cores concurrent commits share one flush
// (group commit). Measured on 2 cores with 8 clients (BENCHMARKS.md, CPU
// per refresh): 4 connections cost more CPU per refresh, server and
// database together, than 8.
const ServerMinConns = 8

func openPostgres(ctx context.Context, url string, maxConns int32) (Store, error) {
	return Postgres(ctx, url, maxConns)
}
