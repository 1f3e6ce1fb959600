package devserver

import (
	"context"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/rotor-auth/rotor/pkg/config"
)

// Main is the main function of a local command (rotor-local,
// rotor-migrate): it reads the configuration from the environment and calls
// run with it and a context cancelled by SIGINT or SIGTERM. A configuration
// or run error ends the process with status 1.
func Main(run func(ctx context.Context, cfg config.Config) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	cfg, err := config.FromEnv()
	if err == nil {
		err = run(ctx, cfg)
	}
	stop()
	if err != nil {
		log.Fatal(err)
	}
}
