package devserver_test

import (
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/devserver"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestMigrate: Migrate (rotor-migrate, and rotor-local on PostgreSQL) refuses
// a configuration without a database, and brings a fresh schema up to date
// however often it runs.
func TestMigrate(t *testing.T) {
	ctx := testenv.Context(t)
	if err := devserver.Migrate(ctx, config.Default()); err == nil {
		t.Fatal("migrated without ROTOR_DATABASE_URL")
	}
	cfg := config.Default()
	cfg.DatabaseURL = testenv.PostgresSchema(t)
	for i := range 2 {
		if err := devserver.Migrate(ctx, cfg); err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
	}
	conn, err := pgx.Connect(ctx, cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM sessions").Scan(&n); err != nil || n != 0 {
		t.Fatalf("after migrating: sessions %d, %v; want an empty table", n, err)
	}
}
