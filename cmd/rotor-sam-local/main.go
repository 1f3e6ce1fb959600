// Command rotor-sam-local prepares the local AWS of a `sam local` run and
// runs a command in it: scripts/sam-local.sh (`make sam-local`) runs
// `sam local start-api` with it.
//
//	rotor-sam-local -moto http://127.0.0.1:5001 -listen 172.17.0.1 \
//	    -env env.local.json -out .aws-sam/sam-local/env.json -- sam local start-api ...
//
// It serves moto_server (-moto, on loopback) where the containers reach the
// host (-listen, host.docker.internal), writes the env-vars file (-env with
// AWS_ENDPOINT_URL on that port, and any -set NAME=value) to -out, creates
// the tables and secrets the file names (internal/samlocal), then runs the
// command until it exits. Ctrl-C reaches the command (it is in the
// terminal's process group); this program waits for it to stop.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/rotor-auth/rotor/internal/samlocal"
)

// sets collects repeated -set NAME=value flags.
type sets map[string]string

func (s sets) String() string { return fmt.Sprint(map[string]string(s)) }

func (s sets) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("want NAME=value, got %q", v)
	}
	s[k] = val
	return nil
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("rotor-sam-local: ")
	if err := run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			os.Exit(exit.ExitCode())
		}
		log.Fatal(err)
	}
}

func run() error {
	motoURL := flag.String("moto", "", "moto_server's URL as this host reaches it (required)")
	listen := flag.String("listen", "0.0.0.0", "address the containers reach this host at (the Docker bridge's gateway)")
	envFile := flag.String("env", "env.local.json", "the env-vars file to start from")
	out := flag.String("out", "", "where to write the env-vars file of this run (required)")
	overrides := sets{}
	flag.Var(overrides, "set", "NAME=value in the written env-vars file (repeatable)")
	flag.Parse()
	if *motoURL == "" || *out == "" {
		flag.Usage()
		return errors.New("-moto and -out are required")
	}

	vars, err := samlocal.ReadEnvFile(*envFile)
	if err != nil {
		return err
	}
	port, srv, err := samlocal.Forward(*listen, *motoURL)
	if err != nil {
		return err
	}
	defer srv.Close()
	vars["AWS_ENDPOINT_URL"] = "http://" + samlocal.ContainerHost + ":" + port
	for k, v := range overrides {
		vars[k] = v
	}
	if err := samlocal.WriteEnvFile(*out, vars); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	err = samlocal.Provision(ctx, samlocal.AWSConfig(*motoURL), vars)
	cancel()
	if err != nil {
		return err
	}
	log.Printf("moto_server %s, served to the containers on %s:%s; tables and secrets of %s created; env vars in %s", *motoURL, *listen, port, *envFile, *out)
	if flag.NArg() == 0 {
		return nil
	}

	// The terminal's Ctrl-C reaches the command directly (same process
	// group); this program only outlives it, so that the forwarder serves it
	// to the end. SIGINT is caught, not ignored: an ignored signal would stay
	// ignored in the command. SIGTERM is passed on as Ctrl-C.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	cmd := exec.Command(flag.Arg(0), flag.Args()[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() {
		for s := range sig {
			if s == syscall.SIGTERM {
				_ = cmd.Process.Signal(syscall.SIGINT)
			}
		}
	}()
	return cmd.Wait()
}
