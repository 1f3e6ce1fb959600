// Command rotor-migrate applies the PostgreSQL store's schema migrations
// (package schema) to ROTOR_DATABASE_URL, with the credentials of
// ROTOR_DATABASE_SECRET_ID when set: `make migrate`. It is idempotent, and
// safe to run from several places at once (tern's advisory lock).
package main

import (
	"context"
	"log"

	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/devserver"
)

func main() { devserver.Main(run) }

func run(ctx context.Context, cfg config.Config) error {
	if err := devserver.Migrate(ctx, cfg); err != nil {
		return err
	}
	log.Print("rotor-migrate: schema up to date")
	return nil
}
