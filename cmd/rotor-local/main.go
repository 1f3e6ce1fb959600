// Command rotor-local serves Rotor's API on 127.0.0.1:3000 (ROTOR_ADDR) with
// the same handlers and authorizer rules as the Lambda functions, on the
// embedded store with development keys, or on DynamoDB with ROTOR_STORE=dynamodb
// (endpoint from the SDK's standard settings, e.g. AWS_ENDPOINT_URL; tables
// are created when missing), on PostgreSQL with ROTOR_STORE=postgres and
// ROTOR_DATABASE_URL (schema migrated at start), or on Redis with
// ROTOR_STORE=redis and ROTOR_REDIS_URL. No Docker, no AWS account.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/rotor-auth/rotor/pkg/app"
	"github.com/rotor-auth/rotor/pkg/app/apifn"
	"github.com/rotor-auth/rotor/pkg/app/authorizerfn"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/devserver"
	"github.com/rotor-auth/rotor/pkg/onetime"
)

func main() { devserver.Main(run) }

func run(ctx context.Context, cfg config.Config) error {
	logger := app.Logger()
	if cfg.Store == "postgres" {
		if err := devserver.Migrate(ctx, cfg); err != nil {
			return err
		}
	}
	d, err := devserver.Local(ctx, cfg, logger)
	if err != nil {
		return err
	}
	api, err := apifn.API(cfg, d)
	if err != nil {
		return err
	}
	// The mail sender runs beside the API, into the mailbox the demo page
	// shows (GET /dev/mailbox). Tokens: the account flows' minter.
	mailer, err := devserver.NewMailer(cfg, d.Store, onetime.Minter{MAC: d.MAC}, logger)
	if err != nil {
		return err
	}
	go mailer.Run(ctx)
	srv := &devserver.Server{API: api, Authorizer: authorizerfn.New(cfg, d.Keys, d.Store, d.MAC, d.Log), Static: devserver.Demo(), Mailbox: mailer, Log: logger}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("rotor-local: %w", err)
	}
	hs := srv.HTTPServer()
	logger.Info("rotor-local listening", slog.String("url", "http://"+ln.Addr().String()), slog.String("store", cfg.Store), slog.String("alg", cfg.SigningAlg))
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(shut)
	}()
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
