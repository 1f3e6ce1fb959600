//go:build samlocal

package samlocal_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/store/dynamo"
)

// webOrigin is the web app's origin the test's API allows (CORS).
const webOrigin = "http://localhost:5173"

// env is the environment the script prepared, checked once by TestMain.
var env *environment

type environment struct {
	root     string // repository root
	sam      string // the SAM CLI
	template string // the arm64 build's template
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
	} {
		if *v.dst, err = required(v.name); err != nil {
			return nil, err
		}
	}
	listenHost, err := required("ROTOR_SAM_LISTEN_HOST")
	if err != nil {
		return nil, err
	}
	port, err := forward(listenHost, e.motoURL)
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

	// env.local.json, as a user has it, with the endpoint on this run's port
	// and a refresh grace window that emulated requests (1-2 s each) cannot
	// outlast between a refresh and its replay.
	raw, err := os.ReadFile(filepath.Join(e.root, "env.local.json"))
	if err != nil {
		return nil, err
	}
	var file struct{ Parameters map[string]string }
	if err := json.Unmarshal(raw, &file); err != nil {
		return nil, fmt.Errorf("env.local.json: %w", err)
	}
	e.vars = file.Parameters
	if !strings.HasPrefix(e.vars["AWS_ENDPOINT_URL"], "http://host.docker.internal:") {
		return nil, fmt.Errorf("env.local.json: AWS_ENDPOINT_URL %q, want http://host.docker.internal:<port> (what the functions reach moto_server at)", e.vars["AWS_ENDPOINT_URL"])
	}
	e.vars["AWS_ENDPOINT_URL"] = "http://host.docker.internal:" + port
	e.vars["ROTOR_REFRESH_GRACE"] = "1m" // the longest the config accepts
	// The cookie transport needs a named origin (with "*" it is refused).
	e.vars["ROTOR_CORS_ALLOW_ORIGIN"] = webOrigin
	out, err := json.MarshalIndent(map[string]any{"Parameters": e.vars}, "", "  ")
	if err != nil {
		return nil, err
	}
	e.envFile = filepath.Join(e.runDir, "env.json")
	if err := os.WriteFile(e.envFile, out, 0o644); err != nil {
		return nil, err
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.provision(ctx); err != nil {
		return nil, fmt.Errorf("create the tables and secrets in moto_server at %s: %w", e.motoURL, err)
	}
	return e, nil
}

// forward serves moto_server (on loopback) on host, where the containers
// reach it as host.docker.internal, and returns the port. It keeps
// connections alive, which moto's development server never does: that server
// closes each connection as it answers, and an arm64 Go client under qemu
// then sometimes loses an answer it already received and retries (seen: a
// conditional DeleteItem applied once, retried, refused, so a logout answered
// 401). The forwarder runs natively, so that race stays out of the test.
func forward(host, motoURL string) (string, error) {
	target, err := url.Parse(motoURL)
	if err != nil {
		return "", err
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", fmt.Errorf("listen on %s for the containers: %w", host, err)
	}
	srv := &http.Server{Handler: httputil.NewSingleHostReverseProxy(target), ReadHeaderTimeout: time.Minute}
	go func() { _ = srv.Serve(l) }()
	_, port, err := net.SplitHostPort(l.Addr().String())
	return port, err
}

// provision creates what env.local.json names, as template.yaml declares it:
// the tables (dynamo.CreateTables) and the secrets (an ES256 signing
// key, a MAC key).
func (e *environment) provision(ctx context.Context) error {
	cfg := testenv.AWSConfig(e.motoURL)
	ddb := dynamodb.NewFromConfig(cfg)
	e.secrets = secretsmanager.NewFromConfig(cfg)

	tables := dynamo.Tables{Users: e.vars["ROTOR_USERS_TABLE"], Sessions: e.vars["ROTOR_SESSIONS_TABLE"], Attempts: e.vars["ROTOR_ATTEMPTS_TABLE"], Outbox: e.vars["ROTOR_OUTBOX_TABLE"]}
	if tables.Users == "" || tables.Sessions == "" || tables.Attempts == "" || tables.Outbox == "" {
		return errors.New("env.local.json lacks a table name (ROTOR_USERS_TABLE, ROTOR_SESSIONS_TABLE, ROTOR_ATTEMPTS_TABLE, ROTOR_OUTBOX_TABLE)")
	}
	if err := dynamo.CreateTables(ctx, ddb, tables); err != nil {
		return err
	}

	// Every secret env.local.json names must be one this test knows how to
	// make: a new kind of secret fails here until it is added.
	var ids []string
	for k := range e.vars {
		if strings.HasSuffix(k, "_SECRET_ID") {
			ids = append(ids, k)
		}
	}
	sort.Strings(ids)
	for _, k := range ids {
		var value string
		switch k {
		case "ROTOR_SIGNING_SECRET_ID":
			v, _, err := signingKey()
			if err != nil {
				return err
			}
			value = v
		case "ROTOR_MAC_SECRET_ID":
			// The template generates it as a random string; its bytes are the key.
			b := make([]byte, 32)
			if _, err := rand.Read(b); err != nil {
				return err
			}
			value = hex.EncodeToString(b)
		default:
			return fmt.Errorf("env.local.json names %s=%s: teach test/samlocal (and docs/DEPLOY.md §3) how to create it", k, e.vars[k])
		}
		if _, err := e.secrets.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(e.vars[k]), SecretString: aws.String(value)}); err != nil {
			return fmt.Errorf("create secret %s: %w", e.vars[k], err)
		}
	}
	if e.vars["ROTOR_SIGNING_SECRET_ID"] == "" {
		return errors.New("env.local.json lacks ROTOR_SIGNING_SECRET_ID")
	}
	return nil
}

// signingKey returns a new ES256 signing key as the functions read it from
// Secrets Manager, and its kid.
func signingKey() (value, kid string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", err
	}
	id := make([]byte, 8)
	if _, err := rand.Read(id); err != nil {
		return "", "", err
	}
	kid = "local-" + hex.EncodeToString(id)
	b, err := json.Marshal(map[string]string{
		"kid":         kid,
		"alg":         "ES256",
		"private_key": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
	})
	return string(b), kid, err
}

// samArgs are the arguments every `sam local` command of the test gets on
// top of what a user types: this run's build, env file and samconfig.toml
// (which adds --skip-pull-image and --add-host host.docker.internal:host-gateway).
func (e *environment) samArgs(sub ...string) []string {
	return append(sub, "--template-file", e.template, "--config-file", e.config, "--env-vars", e.envFile)
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
// function answered (the last line of stdout), or its error.
func (e *environment) invoke(t *testing.T, id string, event []byte) ([]byte, *invocationError) {
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
	cmd := e.command(ctx, e.samArgs("local", "invoke", id, "--event", path))
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
