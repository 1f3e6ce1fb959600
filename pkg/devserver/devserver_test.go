package devserver_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/internal/testapi"
	"github.com/rotor-auth/rotor/pkg/app/authorizerfn"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/devserver"
	"github.com/rotor-auth/rotor/pkg/httpapi"
	"github.com/rotor-auth/rotor/pkg/store/memory"
)

func newServer(t *testing.T) *devserver.Server {
	t.Helper()
	cfg := config.Default()
	cfg.StoreTimeout = time.Minute // a hang guard: no wall clock decides a test (docs/TESTING.md)
	d := testapi.Deps(t, cfg, memory.New(), nil)
	return &devserver.Server{API: testapi.API(t, cfg, d), Authorizer: authorizerfn.New(cfg, d.Keys, d.Store, d.MAC, d.Log)}
}

// endless is a 10 MB request body (API Gateway's limit) that counts what was
// read of it.
type endless struct{ read int }

func (e *endless) Read(p []byte) (int, error) {
	if e.read >= 10<<20 {
		return 0, io.EOF
	}
	p = p[:min(len(p), 10<<20-e.read)]
	for i := range p {
		p[i] = 'a'
	}
	e.read += len(p)
	return len(p), nil
}

// TestBodyReadUpToTheLimit: however long a body is, the server reads at
// most one byte past what any handler accepts, and the handler refuses it.
func TestBodyReadUpToTheLimit(t *testing.T) {
	h := newServer(t).Handler()
	for _, path := range []string{"/auth/login", "/auth/signup", "/auth/refresh"} {
		t.Run(path, func(t *testing.T) {
			body := &endless{}
			req := httptest.NewRequest(http.MethodPost, path, io.NopCloser(body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if body.read > devserver.MaxBody+4096 { // one read buffer past the limit at most
				t.Errorf("read %d bytes of the body; want at most about %d", body.read, devserver.MaxBody)
			}
			if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "too large") {
				t.Errorf("got %d %s; want 400 too large", rec.Code, rec.Body)
			}
		})
	}
	if devserver.MaxBody != httpapi.MaxBodyBytes+1 {
		t.Errorf("MaxBody = %d; want httpapi.MaxBodyBytes+1", devserver.MaxBody)
	}
}

// TestSlowClientsTimeOut: a client that stops sending in the middle of its
// headers or its body loses the connection instead of holding it.
func TestSlowClientsTimeOut(t *testing.T) {
	tests := []struct{ name, sent string }{
		{"incomplete headers", "POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Ty"},
		{"incomplete body", "POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"username\":"},
		{"idle keep-alive", "GET /.well-known/jwks.json HTTP/1.1\r\nHost: x\r\n\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t)
			s.ReadHeaderTimeout, s.ReadTimeout, s.IdleTimeout = 100*time.Millisecond, 200*time.Millisecond, 200*time.Millisecond
			hs := s.HTTPServer()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go func() { _ = hs.Serve(ln) }()
			t.Cleanup(func() { _ = hs.Close() })

			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := io.WriteString(c, tc.sent); err != nil {
				t.Fatal(err)
			}
			// Not a timing assertion: only a bound so that a server without
			// timeouts fails the test instead of hanging it.
			_ = c.SetReadDeadline(time.Now().Add(time.Minute))
			r := bufio.NewReader(c)
			for {
				resp, err := http.ReadResponse(r, nil)
				if err != nil {
					if ne, ok := err.(net.Error); ok && ne.Timeout() {
						t.Fatal("the server held the connection open")
					}
					return // closed by the server: what we want
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}
