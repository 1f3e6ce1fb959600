package app

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/mac"
	"github.com/rotor-auth/rotor/pkg/store/dynamo"
	"github.com/rotor-auth/rotor/web"
)

// Local builds the local server's dependencies: development keys, or the
// configured secret when ROTOR_SIGNING_SECRET_ID is set; the embedded store,
// or DynamoDB (tables created if missing) when cfg.Store is "dynamodb".
func Local(ctx context.Context, cfg config.Config, log *slog.Logger) (Deps, error) {
	if cfg.Store != "dynamodb" {
		return Memory(cfg, log)
	}
	ac, err := AWS(ctx, cfg)
	if err != nil {
		return Deps{}, err
	}
	st, db := DynamoStore(ac, cfg)
	if err := dynamo.CreateTables(ctx, db, Tables(cfg)); err != nil {
		return Deps{}, err
	}
	d := Deps{Store: st, Log: log}
	if cfg.MACSecretID != "" {
		if d.MAC, err = SecretMAC(ac, cfg); err != nil {
			return Deps{}, err
		}
	} else {
		ring, err := mac.Generate(nil)
		if err != nil {
			return Deps{}, err
		}
		d.MAC = mac.Static(ring)
	}
	if cfg.SigningSecretID != "" {
		if d.Keys, err = SecretKeys(ac, cfg); err != nil {
			return Deps{}, err
		}
		return d, nil
	}
	if d.Keys, err = DevKeys(cfg); err != nil {
		return Deps{}, err
	}
	return d, nil
}

// Demo serves the demo page (package web) at /.
func Demo() http.Handler { return http.FileServerFS(web.Demo) }
