//go:build samlocal

package samlocal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotor-auth/rotor/internal/samlocal"
	"github.com/rotor-auth/rotor/internal/testenv"
)

// webOrigin is the web app's origin the test's API allows (CORS).
const webOrigin = "http://localhost:5173"

// env is the environment the script prepared, checked once by TestMain.
var env *environment

type environment struct {
	root     string // repository root
	sam      string // the SAM CLI
	template string // the built template (sam build for this host's architecture)
	arch     string // the template's Architecture parameter: this host's (native)
	config   string // samconfig.toml (absolute: SAM looks beside the template)
	runDir   string // the script's scratch directory
	motoURL  string // moto_server as this process reaches it
	envFile  string // --env-vars: env.local.json pointed at this moto_server
	vars     map[string]string
	secrets  *secretsmanager.Client

	mu      sync.Mutex // guards sam.pids and invoked
	invoked map[string]bool
}

func TestMain(m *testing.M) {
	e, err := setup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sam local test: FAIL:", err)
		os.Exit(1)
	}
	env = e
	os.Exit(m.Run())
}

// required reads a variable that scripts/sam-local-test.sh sets.
func required(name string) (string, error) {
	v := os.Getenv(name)
	if v == "" {
		return "", fmt.Errorf("%s is not set: run this test with scripts/sam-local-test.sh (make sam-local-test), which prepares Docker, the base image, sam build and moto_server", name)
	}
	return v, nil
}

func setup() (*environment, error) {
	if os.Getenv("ROTOR_SAMLOCAL") != "1" {
		return nil, errors.New("ROTOR_SAMLOCAL=1 is not set: run scripts/sam-local-test.sh (make sam-local-test)")
	}
	e := &environment{root: testenv.RepoRoot()}
	var err error
	for _, v := range []struct {
		dst  *string
		name string
	}{
		{&e.sam, "ROTOR_SAM"}, {&e.template, "ROTOR_SAM_TEMPLATE"}, {&e.runDir, "ROTOR_SAM_RUN_DIR"}, {&e.motoURL, "ROTOR_SAM_MOTO_URL"},
		{&e.arch, "ROTOR_SAM_ARCHITECTURE"},
	} {
		if *v.dst, err = required(v.name); err != nil {
			return nil, err
		}
	}
	listenHost, err := required("ROTOR_SAM_LISTEN_HOST")
	if err != nil {
		return nil, err
	}
	port, _, err := samlocal.Forward(listenHost, e.motoURL)
	if err != nil {
		return nil, err
	}
	if !filepath.IsAbs(e.template) {
		e.template = filepath.Join(e.root, e.template)
	}
	e.config = filepath.Join(e.root, "samconfig.toml")
	for _, p := range []string{e.sam, e.template, e.config, e.runDir} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("prerequisite missing: %w", err)
		}
	}
	if out, err := exec.Command("docker", "info", "-f", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("docker info: %v: %s", err, out)
	}

	// env.local.json, as a user has it, with the endpoint on this run's
	// port, the API's answers checked by the test (the cookie transport
	// needs a named origin), in the file `make sam-local` writes too.
	if e.vars, err = samlocal.ReadEnvFile(filepath.Join(e.root, "env.local.json")); err != nil {
		return nil, err
	}
	e.vars["AWS_ENDPOINT_URL"] = "http://" + samlocal.ContainerHost + ":" + port
	e.vars["ROTOR_CORS_ALLOW_ORIGIN"] = webOrigin
	// The longest grace window the config accepts, so that a refresh and
	// its replay (each a container start under sam local, on a machine
	// shared with other runs) always fall within it.
	e.vars["ROTOR_REFRESH_GRACE"] = "1m"
	e.envFile = filepath.Join(e.runDir, "env.json")
	if err := samlocal.WriteEnvFile(e.envFile, e.vars); err != nil {
		return nil, err
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := samlocal.AWSConfig(e.motoURL)
	e.secrets = secretsmanager.NewFromConfig(cfg)
	if err := samlocal.Provision(ctx, cfg, e.vars); err != nil {
		return nil, fmt.Errorf("create the tables and secrets in moto_server at %s: %w", e.motoURL, err)
	}
	return e, nil
}

// samArgs are the arguments every `sam local` command of the test gets, as
// `make sam-local` gives them: this run's build of the template as
// committed, its env file, this host's architecture and samconfig.toml
// (which adds --skip-pull-image and --add-host host.docker.internal:host-gateway).
func (e *environment) samArgs(sub ...string) []string {
	return e.samArgsWith(nil, sub...)
}

// samArgsWith is samArgs with more template parameters, each Key=value as
// `sam deploy --parameter-overrides` takes them (a value with spaces in
// double quotes).
func (e *environment) samArgsWith(params []string, sub ...string) []string {
	return append(sub, "--template-file", e.template, "--config-file", e.config, "--env-vars", e.envFile,
		"--parameter-overrides", strings.Join(append([]string{"Architecture=" + e.arch}, params...), " "))
}

// command prepares a sam process in its own process group, recorded in
// sam.pids so the script can stop it even if this test dies.
func (e *environment) command(ctx context.Context, args []string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, e.sam, args...)
	cmd.Dir = e.root
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	cmd.Env = append(os.Environ(), "SAM_CLI_TELEMETRY=0")
	return cmd
}

func (e *environment) recordPID(pid int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	f, err := os.OpenFile(filepath.Join(e.runDir, "sam.pids"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = fmt.Fprintln(f, pid)
	return err
}

// notInvoked lists the template's functions no `sam local invoke` ran.
func (e *environment) notInvoked(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(e.root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var missed []string
	for _, m := range regexp.MustCompile(`(?m)^  ([A-Za-z]+Function):$`).FindAllStringSubmatch(string(raw), -1) {
		if !e.invoked[m[1]] {
			missed = append(missed, m[1])
		}
	}
	return missed
}

// invocationError is what `sam local invoke` prints when the handler returns an error.
type invocationError struct {
	Message string `json:"errorMessage"`
	Type    string `json:"errorType"`
}

// invoke runs `sam local invoke <id> -e <event>` and returns what the
// function answered (the last line of stdout), or its error. params are
// template parameters besides Architecture (see samArgsWith).
func (e *environment) invoke(t *testing.T, id string, event []byte, params ...string) ([]byte, *invocationError) {
	t.Helper()
	path := filepath.Join(e.runDir, fmt.Sprintf("event-%s-%d.json", id, time.Now().UnixNano()))
	if err := os.WriteFile(path, event, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	e.mu.Lock()
	if e.invoked == nil {
		e.invoked = map[string]bool{}
	}
	e.invoked[id] = true
	e.mu.Unlock()
	cmd := e.command(ctx, e.samArgsWith(params, "local", "invoke", id, "--event", path))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("sam local invoke %s: %v", id, err)
	}
	if err := e.recordPID(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("sam local invoke %s: %v\nstdout:\n%s\nstderr:\n%s", id, err, stdout.String(), stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	last := []byte(strings.TrimSpace(lines[len(lines)-1]))
	if !json.Valid(last) {
		t.Fatalf("sam local invoke %s: the last line of stdout is not JSON:\nstdout:\n%s\nstderr:\n%s", id, stdout.String(), stderr.String())
	}
	var ie invocationError
	if json.Unmarshal(last, &ie) == nil && ie.Message != "" && ie.Type != "" {
		return last, &ie
	}
	return last, nil
}
