package devserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotor-auth/rotor/pkg/app"
	"github.com/rotor-auth/rotor/pkg/app/apifn"
	"github.com/rotor-auth/rotor/pkg/app/serverstore"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/mac"
	"github.com/rotor-auth/rotor/pkg/passkey/relyingparty"
	"github.com/rotor-auth/rotor/pkg/store/dynamo"
	"github.com/rotor-auth/rotor/pkg/store/memory"
	"github.com/rotor-auth/rotor/pkg/store/postgres/schema"
	"github.com/rotor-auth/rotor/web"
)

// Local builds the local server's dependencies: development keys, or the
// configured secret when ROTOR_SIGNING_SECRET_ID is set; the embedded store,
// or DynamoDB (tables created if missing) when cfg.Store is "dynamodb", or
// PostgreSQL (schema migrated by the caller: Migrate) or Redis at the
// configured URL, with development keys.
func Local(ctx context.Context, cfg config.Config, log *slog.Logger) (apifn.Deps, error) {
	switch cfg.Store {
	case "postgres", "redis":
		d, err := Memory(cfg, log)
		if err != nil {
			return apifn.Deps{}, err
		}
		var sm serverstore.SecretValueAPI
		if cfg.DatabaseSecretID != "" || cfg.RedisSecretID != "" {
			ac, err := AWS(ctx, cfg)
			if err != nil {
				return apifn.Deps{}, err
			}
			sm = secretsmanager.NewFromConfig(ac)
		}
		d.Store, err = serverstore.Open(ctx, cfg, sm, 0)
		return d, err
	case "dynamodb":
	default:
		return Memory(cfg, log)
	}
	ac, err := AWS(ctx, cfg)
	if err != nil {
		return apifn.Deps{}, err
	}
	st, db := app.DynamoStore(ac, cfg)
	if err := dynamo.CreateTables(ctx, db, app.Tables(cfg)); err != nil {
		return apifn.Deps{}, err
	}
	d := apifn.Deps{Store: st, Log: log}
	if d.RP, err = relyingparty.FromConfig(cfg); err != nil {
		return apifn.Deps{}, err
	}
	if cfg.MACSecretID != "" {
		if d.MAC, err = app.SecretMAC(ac, cfg); err != nil {
			return apifn.Deps{}, err
		}
	} else {
		ring, err := mac.Generate(nil)
		if err != nil {
			return apifn.Deps{}, err
		}
		d.MAC = mac.Static(ring)
	}
	if cfg.SigningSecretID != "" {
		if d.Keys, err = app.SecretKeys(ac, cfg); err != nil {
			return apifn.Deps{}, err
		}
		return d, nil
	}
	if d.Keys, err = app.DevKeys(cfg); err != nil {
		return apifn.Deps{}, err
	}
	return d, nil
}

// Demo serves the demo page (package web) at / and at the pages of the
// mails' links (web.LinkPages).
func Demo() http.Handler { return web.Handler() }

// Memory builds local dependencies: the embedded store and development keys.
func Memory(cfg config.Config, log *slog.Logger) (apifn.Deps, error) {
	ks, err := app.DevKeys(cfg)
	if err != nil {
		return apifn.Deps{}, err
	}
	ring, err := mac.Generate(nil)
	if err != nil {
		return apifn.Deps{}, err
	}
	rp, err := relyingparty.FromConfig(cfg)
	if err != nil {
		return apifn.Deps{}, err
	}
	return apifn.Deps{Store: memory.New(), Keys: ks, MAC: mac.Static(ring), Log: log, RP: rp}, nil
}

// AWS loads the SDK configuration the standard way (environment, shared
// files, SSO, instance roles; AWS_ENDPOINT_URL and friends for local
// endpoints), with cfg's retries and timeouts (app.Retryer): the local server
// runs on a developer's machine. The Lambda functions use app.LambdaAWS,
// which links none of this.
func AWS(ctx context.Context, cfg config.Config) (aws.Config, error) {
	c, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRetryer(app.Retryer(cfg)), awsconfig.WithHTTPClient(app.HTTPClient(cfg)))
	if err != nil {
		return aws.Config{}, fmt.Errorf("devserver: aws config: %w", err)
	}
	return c, nil
}

// Migrate applies the PostgreSQL store's schema migrations (package schema)
// to cfg.DatabaseURL, with the credentials of cfg.DatabaseSecretID when set,
// as the store will connect.
func Migrate(ctx context.Context, cfg config.Config) error {
	if cfg.DatabaseURL == "" {
		return errors.New("devserver: migrate: ROTOR_DATABASE_URL is not set")
	}
	url := cfg.DatabaseURL
	if cfg.DatabaseSecretID != "" {
		ac, err := AWS(ctx, cfg)
		if err != nil {
			return err
		}
		if url, err = serverstore.ConnectionURL(ctx, secretsmanager.NewFromConfig(ac), url, cfg.DatabaseSecretID); err != nil {
			return err
		}
	}
	return schema.UpURL(ctx, url)
}
