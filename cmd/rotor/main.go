// Command rotor is the operator's tool for a Rotor deployment: list and end
// sessions, lock accounts, rotate signing keys. Run rotor --help.
package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"

	"github.com/rotor-auth/rotor/pkg/admin"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx)
	stop()
	os.Exit(code)
}

func run(ctx context.Context) int {
	// The audit events go to stderr as JSON lines; results go to stdout.
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	cli := &admin.CLI{
		Stdin:    os.Stdin,
		Stdout:   os.Stdout,
		Stderr:   os.Stderr,
		Terminal: terminal(os.Stdin),
		Open: func(ctx context.Context, stack string) (*admin.Admin, error) {
			return admin.Connect(ctx, os.LookupEnv, stack, log)
		},
	}
	return cli.Run(ctx, os.Args[1:])
}

// terminal reports whether f is a character device a person types on.
func terminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
