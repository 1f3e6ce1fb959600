// Package schema holds the PostgreSQL store's tables as numbered SQL
// migrations embedded in the binary, and applies them with jackc/tern. It is
// a package of its own so that only the programs that migrate (rotor-local,
// rotor-migrate) link the migrator; the Lambda functions link the store alone.
package schema

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"
)

//go:embed migrations/*.sql
var files embed.FS

// VersionTable is where tern records the applied version, beside the tables.
const VersionTable = "rotor_schema_version"

// Migrations returns the numbered migration files.
func Migrations() fs.FS {
	sub, err := fs.Sub(files, "migrations")
	if err != nil {
		panic(err) // the directory is embedded above: cannot happen
	}
	return sub
}

// Up applies every migration not applied yet, under tern's advisory lock, so
// concurrent starts apply each migration once. It is idempotent: on an
// up-to-date database it only reads the version. Tables go to the first schema
// of conn's search_path.
func Up(ctx context.Context, conn *pgx.Conn) error {
	m, err := migrate.NewMigrator(ctx, conn, VersionTable)
	if err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	if err := m.LoadMigrations(Migrations()); err != nil {
		return fmt.Errorf("schema: load migrations: %w", err)
	}
	if err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("schema: migrate: %w", err)
	}
	return nil
}

// UpURL connects to url and applies Up: `make migrate` and local runs.
func UpURL(ctx context.Context, url string) error {
	// The URL is the pool's (ROTOR_DATABASE_URL), which may carry pgxpool
	// settings (pool_max_conns...) that a single connection refuses.
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		return errors.New("schema: the database URL does not parse") // may hold a password: not echoed
	}
	conn, err := pgx.ConnectConfig(ctx, pc.ConnConfig)
	if err != nil {
		return fmt.Errorf("schema: connect: %w", err)
	}
	defer conn.Close(ctx)
	return Up(ctx, conn)
}
