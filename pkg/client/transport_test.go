package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/client"
)

const alicePassword = "correct horse battery staple"

// loggedIn starts a fake API and returns a transport logged in as alice.
func loggedIn(t *testing.T) (*fakeAPI, *client.Transport) {
	t.Helper()
	api := startFakeAPI()
	t.Cleanup(api.Close)
	tr := &client.Transport{BaseURL: api.URL, Store: &client.MemoryStore{}}
	if err := tr.Login(context.Background(), "alice", alicePassword); err != nil {
		t.Fatalf("Login: %v", err)
	}
	return api, tr
}

func TestConcurrent401sShareOneRefresh(t *testing.T) {
	const n = 50
	tests := []struct {
		name string
		hold bool // hold the refresh until all n requests got their 401
	}{
		{"refresh held until every request got its 401", true},
		{"refresh free to finish early, late 401s reuse the new pair", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api, tr := loggedIn(t)
			if tc.hold {
				api.HoldRefresh(n)
			}
			api.ExpireAccess()

			hc := tr.Client()
			var wg sync.WaitGroup
			var ok atomic.Int64
			errs := make(chan error, n)
			for range n {
				wg.Go(func() {
					resp, err := hc.Get(api.URL + "/me")
					if err != nil {
						errs <- err
						return
					}
					defer resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						ok.Add(1)
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Errorf("GET /me: %v", err)
			}
			if got := ok.Load(); got != n {
				t.Errorf("successful calls = %d, want %d", got, n)
			}
			if got := api.RefreshCalls.Load(); got != 1 {
				t.Errorf("/auth/refresh calls = %d, want 1", got)
			}
		})
	}
}

// blockFirst holds the first request it sees until release is closed, so a
// test can make that request's 401 arrive after another request already
// finished a refresh.
type blockFirst struct {
	seen    atomic.Bool
	blocked chan struct{}
	release chan struct{}
}

func (b *blockFirst) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path == "/me" && b.seen.CompareAndSwap(false, true) {
		close(b.blocked)
		<-b.release
	}
	return http.DefaultTransport.RoundTrip(r)
}

func TestLate401ForReplacedTokenRetriesWithoutRefresh(t *testing.T) {
	api, tr := loggedIn(t)
	block := &blockFirst{blocked: make(chan struct{}), release: make(chan struct{})}
	tr.Base = block
	api.ExpireAccess()
	hc := tr.Client()

	late := make(chan *http.Response, 1)
	go func() {
		resp, err := hc.Get(api.URL + "/me")
		if err != nil {
			t.Errorf("late GET /me: %v", err)
		}
		late <- resp
	}()
	<-block.blocked

	resp, err := hc.Get(api.URL + "/me") // 401, refresh, retry
	if err != nil {
		t.Fatalf("GET /me: %v", err)
	}
	resp.Body.Close()
	close(block.release) // the held request now gets a 401 for the replaced token

	if resp := <-late; resp == nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("late GET /me = %v, want 200", resp)
	}
	if got := api.RefreshCalls.Load(); got != 1 {
		t.Errorf("/auth/refresh calls = %d, want 1", got)
	}
}

func TestRefusedRefreshEndsSession(t *testing.T) {
	tests := []struct {
		name       string
		concurrent int
	}{
		{"one request", 1},
		{"many requests at once", 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api, tr := loggedIn(t)
			var ended atomic.Int64
			tr.OnSessionEnded = func(error) {
				// Yield first: were the requests released before this
				// callback, they would now run and see it not yet called.
				runtime.Gosched()
				ended.Add(1)
			}
			api.HoldRefresh(int64(tc.concurrent))
			api.ExpireAccess()
			api.RevokeSessions()

			hc := tr.Client()
			var wg sync.WaitGroup
			for range tc.concurrent {
				wg.Go(func() {
					resp, err := hc.Get(api.URL + "/me")
					if err == nil {
						resp.Body.Close()
						t.Errorf("GET /me = %d, want an error", resp.StatusCode)
						return
					}
					if !errors.Is(err, client.ErrSessionEnded) {
						t.Errorf("GET /me error = %v, want ErrSessionEnded", err)
					}
					// An app reacting to the error must find the callback done.
					if got := ended.Load(); got != 1 {
						t.Errorf("GET /me returned ErrSessionEnded with OnSessionEnded calls = %d, want 1", got)
					}
					var se *client.SessionEndedError
					if !errors.As(err, &se) || se.Code != "invalid_grant" || se.StatusCode != http.StatusUnauthorized {
						t.Errorf("GET /me error = %#v, want a 401 invalid_grant SessionEndedError", err)
					}
				})
			}
			wg.Wait()
			if got := api.RefreshCalls.Load(); got != 1 {
				t.Errorf("/auth/refresh calls = %d, want 1 (no retry loop)", got)
			}
			if got := ended.Load(); got != 1 {
				t.Errorf("OnSessionEnded calls = %d, want 1", got)
			}
			if _, err := tr.Store.Load(context.Background()); !errors.Is(err, client.ErrNoTokens) {
				t.Errorf("store after refused refresh: %v, want ErrNoTokens", err)
			}
		})
	}
}

func TestRetryStill401IsReturnedNotLooped(t *testing.T) {
	api, tr := loggedIn(t)
	api.RejectAll()
	resp, err := tr.Client().Get(api.URL + "/me")
	if err != nil {
		t.Fatalf("GET /me: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("status = %d, want 401", resp.StatusCode)
	}
	if got := api.RefreshCalls.Load(); got != 1 {
		t.Errorf("/auth/refresh calls = %d, want 1", got)
	}
	if got := api.Unauthorized.Load(); got != 2 {
		t.Errorf("401 answers = %d, want 2 (first try and one retry)", got)
	}
}

func TestBodiesReplayedIntact(t *testing.T) {
	payload := `{"note":"` + strings.Repeat("rotor ", 2000) + `"}`
	tests := []struct {
		name   string
		method string
		body   func() io.Reader
	}{
		{"POST strings.Reader", http.MethodPost, func() io.Reader { return strings.NewReader(payload) }},
		{"PUT bytes.Buffer", http.MethodPut, func() io.Reader { return bytes.NewBufferString(payload) }},
		{"PATCH bytes.Reader", http.MethodPatch, func() io.Reader { return bytes.NewReader([]byte(payload)) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api, tr := loggedIn(t)
			api.ExpireAccess()
			req, err := http.NewRequest(tc.method, api.URL+"/echo", tc.body())
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := tr.Client().Do(req)
			if err != nil {
				t.Fatalf("%s /echo: %v", tc.method, err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || string(got) != payload {
				t.Errorf("%s /echo = %d with %d bytes, want 200 with the %d byte body", tc.method, resp.StatusCode, len(got), len(payload))
			}
			echoed := api.Echoed()
			if len(echoed) != 2 || echoed[0] != payload || echoed[1] != payload {
				t.Errorf("server received %d bodies, want the full body twice (refused try, retry)", len(echoed))
			}
		})
	}
}

// onlyReader hides the concrete type of its reader, so http.NewRequest
// cannot set GetBody.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func TestNonReplayableBodyIsNotSentEmpty(t *testing.T) {
	api, tr := loggedIn(t)
	before, _ := tr.Store.Load(context.Background())
	api.ExpireAccess()

	req, err := http.NewRequest(http.MethodPost, api.URL+"/echo", onlyReader{strings.NewReader("payload")})
	if err != nil {
		t.Fatal(err)
	}
	if req.GetBody != nil {
		t.Fatal("test setup: request unexpectedly replayable")
	}
	resp, err := tr.Client().Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("POST /echo = %d, want ErrBodyNotReplayable", resp.StatusCode)
	}
	if !errors.Is(err, client.ErrBodyNotReplayable) {
		t.Fatalf("POST /echo error = %v, want ErrBodyNotReplayable", err)
	}
	if echoed := api.Echoed(); len(echoed) != 1 || echoed[0] != "payload" {
		t.Errorf("server received bodies %q, want only the refused first try", echoed)
	}
	after, _ := tr.Store.Load(context.Background())
	if after.RefreshToken == before.RefreshToken {
		t.Error("tokens were not refreshed; the caller's resend would fail again")
	}
}

func TestProactiveRefresh(t *testing.T) {
	tests := []struct {
		name        string
		skew        time.Duration // client clock minus server clock
		wantRefresh int64
	}{
		{"far from expiry: no refresh", 0, 0},
		{"within the margin: refresh before sending", 55 * time.Second, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api, tr := loggedIn(t) // access tokens live one minute
			tr.RefreshBefore = 10 * time.Second
			tr.Now = func() time.Time { return time.Now().Add(tc.skew) }

			resp, err := tr.Client().Get(api.URL + "/me")
			if err != nil {
				t.Fatalf("GET /me: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("status = %d, want 200", resp.StatusCode)
			}
			if got := api.RefreshCalls.Load(); got != tc.wantRefresh {
				t.Errorf("/auth/refresh calls = %d, want %d", got, tc.wantRefresh)
			}
			if got := api.Unauthorized.Load(); got != 0 {
				t.Errorf("401 answers = %d, want 0", got)
			}
		})
	}
}

func TestTokensStayOnTheirOrigin(t *testing.T) {
	api, tr := loggedIn(t)
	var gotAuth atomic.Value
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth.Store(r.Header.Get("Authorization"))
	}))
	defer other.Close()

	tests := []struct {
		name     string
		url      string
		wantAuth bool
	}{
		{"API origin", api.URL + "/echo", true},
		{"other origin", other.URL + "/collect", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gotAuth.Store("")
			var sent string
			tr.Base = roundTripFunc(func(r *http.Request) (*http.Response, error) {
				sent = r.Header.Get("Authorization")
				return http.DefaultTransport.RoundTrip(r)
			})
			resp, err := tr.Client().Post(tc.url, "text/plain", strings.NewReader("x"))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if (sent != "") != tc.wantAuth {
				t.Errorf("Authorization sent = %q, want present: %v", sent, tc.wantAuth)
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestLoginErrors(t *testing.T) {
	api := startFakeAPI()
	defer api.Close()
	tests := []struct {
		name           string
		user, password string
		wantStatus     int
		wantCode       string
		wantRetryAfter time.Duration
	}{
		{"wrong password", "alice", "nope", 401, "invalid_credentials", 0},
		{"unknown user", "bob", alicePassword, 401, "invalid_credentials", 0},
		{"throttled", "throttled", "x", 429, "too_many_attempts", 7 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := &client.Transport{BaseURL: api.URL, Store: &client.MemoryStore{}}
			err := tr.Login(context.Background(), tc.user, tc.password)
			var apiErr *client.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("Login error = %v, want *APIError", err)
			}
			if apiErr.StatusCode != tc.wantStatus || apiErr.Code != tc.wantCode || apiErr.RetryAfter != tc.wantRetryAfter {
				t.Errorf("Login error = %+v, want %d %s retry after %v", apiErr, tc.wantStatus, tc.wantCode, tc.wantRetryAfter)
			}
			if _, err := tr.Store.Load(context.Background()); !errors.Is(err, client.ErrNoTokens) {
				t.Errorf("store after failed login: %v, want ErrNoTokens", err)
			}
		})
	}
}

func TestLogout(t *testing.T) {
	api, tr := loggedIn(t)
	tok, _ := tr.Store.Load(context.Background())
	if err := tr.Logout(context.Background()); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	if !api.Revoked(tok.RefreshToken) {
		t.Error("server session still alive after Logout")
	}
	if _, err := tr.Store.Load(context.Background()); !errors.Is(err, client.ErrNoTokens) {
		t.Errorf("store after Logout: %v, want ErrNoTokens", err)
	}
	if err := tr.Logout(context.Background()); err != nil {
		t.Errorf("second Logout: %v, want nil", err)
	}
}

func TestTokensFromLogin(t *testing.T) {
	_, tr := loggedIn(t)
	tok, err := tr.Store.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(tok)
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.AccessExpiresAt.IsZero() || tok.RefreshExpiresAt.IsZero() {
		t.Errorf("stored tokens incomplete: %s", b)
	}
}
