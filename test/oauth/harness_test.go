// Package oauth drives Rotor's standard doors with the clients people
// already use: golang.org/x/oauth2, Python's requests-oauthlib, Node's
// aws-jwt-verify (behind a local TLS front, issuer only), and a validator
// written to the rules AWS documents for API Gateway's JWT authorizer. The
// server is the local server's handler (pkg/devserver) on the embedded
// store; its issuer is its own URL, as with `make dev`. Every answer the Go
// clients get is checked against docs/openapi.yaml.
package oauth

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/internal/apispec"
	"github.com/rotor-auth/rotor/pkg/app/apifn"
	"github.com/rotor-auth/rotor/pkg/app/authorizerfn"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/devserver"
)

// root is the repository's root directory.
func root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

var spec = sync.OnceValues(func() (*apispec.Spec, error) {
	return apispec.Load(context.Background(), apispec.Path())
})

// server is one running Rotor.
type server struct {
	t      *testing.T
	url    string // also the issuer
	cfg    config.Config
	client *http.Client // trusts the server, checks answers against the spec
	caFile string       // the TLS server's certificate, PEM (TLS only)
}

// start runs Rotor on a loopback port, with TLS when tls is true, signing
// with alg. Its issuer is the URL it listens on.
func start(t *testing.T, tls bool, alg string) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	scheme := "http"
	if tls {
		scheme = "https"
	}
	cfg := config.Default()
	cfg.StoreTimeout = time.Minute // a hang guard: no wall clock decides a test (docs/TESTING.md)
	cfg.Issuer = scheme + "://" + ln.Addr().String()
	cfg.SigningAlg = alg
	cfg.Audience = "https://api.example.com"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	d, err := devserver.Memory(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	api, err := apifn.API(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer((&devserver.Server{API: api, Authorizer: authorizerfn.New(cfg, d.Keys, d.Store, d.MAC, d.Log), Log: log}).Handler())
	srv.Listener.Close()
	srv.Listener = ln
	s := &server{t: t, url: cfg.Issuer, cfg: cfg}
	base := http.DefaultTransport
	if tls {
		srv.StartTLS()
		base = srv.Client().Transport
		s.caFile = filepath.Join(t.TempDir(), "ca.pem")
		ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
		if err := os.WriteFile(s.caFile, ca, 0o600); err != nil {
			t.Fatal(err)
		}
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	sp, err := spec()
	if err != nil {
		t.Fatal(err)
	}
	s.client = &http.Client{Transport: &apispec.Transport{Spec: sp, Base: base, Fail: func(err error) { t.Errorf("%v", err) }}}
	return s
}

// post sends a form or JSON body and decodes the JSON answer.
func (s *server) post(path, contentType, body string, headers ...string) (int, map[string]any) {
	s.t.Helper()
	req, err := http.NewRequest("POST", s.url+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return s.send(req)
}

func (s *server) get(path string, headers ...string) (int, map[string]any) {
	s.t.Helper()
	req, err := http.NewRequest("GET", s.url+path, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return s.send(req)
}

func (s *server) send(req *http.Request) (int, map[string]any) {
	s.t.Helper()
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			s.t.Fatalf("%s %s: not JSON: %q", req.Method, req.URL.Path, raw)
		}
	}
	return resp.StatusCode, out
}

// signup creates a user.
func (s *server) signup(user, pw string) {
	s.t.Helper()
	b, _ := json.Marshal(map[string]string{"username": user, "password": pw})
	if st, body := s.post("/auth/signup", "application/json", string(b)); st != http.StatusCreated {
		s.t.Fatalf("signup: %d %v", st, body)
	}
}

// token runs the password grant with a plain form post.
func (s *server) token(user, pw string) map[string]any {
	s.t.Helper()
	st, body := s.post("/oauth/token", "application/x-www-form-urlencoded", url.Values{"grant_type": {"password"}, "username": {user}, "password": {pw}}.Encode())
	if st != http.StatusOK {
		s.t.Fatalf("password grant: %d %v", st, body)
	}
	return body
}

// metadata is the discovery document, from the well-known path under the issuer.
type metadata struct {
	Issuer             string   `json:"issuer"`
	JWKSURI            string   `json:"jwks_uri"`
	TokenEndpoint      string   `json:"token_endpoint"`
	RevocationEndpoint string   `json:"revocation_endpoint"`
	GrantTypes         []string `json:"grant_types_supported"`
	AuthMethods        []string `json:"token_endpoint_auth_methods_supported"`
	Algs               []string `json:"id_token_signing_alg_values_supported"`
}

func discover(t *testing.T, c *http.Client, issuer, wellKnown string) metadata {
	t.Helper()
	resp, err := c.Get(issuer + wellKnown)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m metadata
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", wellKnown, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// tools serialises installing the Python and Node clients.
var tools sync.Mutex

// python returns the interpreter of .venv/oauth-clients, creating the
// virtualenv from test/oauth/requirements.txt (PyPI) when it is missing.
func python(t *testing.T) string {
	t.Helper()
	tools.Lock()
	defer tools.Unlock()
	venv := filepath.Join(root(), ".venv", "oauth-clients")
	py := filepath.Join(venv, "bin", "python")
	if exec.Command(py, "-c", "import requests_oauthlib").Run() == nil {
		return py
	}
	run(t, root(), nil, "python3", "-m", "venv", venv)
	run(t, root(), nil, py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", filepath.Join("test", "oauth", "requirements.txt"))
	return py
}

// nodeModules installs test/oauth/node's pinned packages when missing.
func nodeModules(t *testing.T) string {
	t.Helper()
	tools.Lock()
	defer tools.Unlock()
	dir := filepath.Join(root(), "test", "oauth", "node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "aws-jwt-verify", "package.json")); err != nil {
		run(t, dir, nil, "npm", "ci", "--no-audit", "--no-fund")
	}
	return dir
}

// run runs a command and fails the test, with its output, if it fails.
func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
