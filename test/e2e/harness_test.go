// Package e2e drives Rotor over HTTP through the local server (the same
// handlers and authorizer as the Lambda functions), on every store: the
// embedded one, DynamoDB served by moto_server, and private PostgreSQL and
// Redis servers the tests start themselves.
package e2e

import (
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

	"github.com/rotor-auth/rotor/internal/testapi"
	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/internal/testlog"
	"github.com/rotor-auth/rotor/pkg/app/apifn"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/mac"
	"github.com/rotor-auth/rotor/pkg/store/dynamo"
	"github.com/rotor-auth/rotor/pkg/store/memory"
	"github.com/rotor-auth/rotor/pkg/store/postgres"
	rstore "github.com/rotor-auth/rotor/pkg/store/redis"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// env is one running server.
type env struct {
	t      *testing.T
	url    string
	clock  *testapi.Clock
	store  apifn.Store
	db     *dynamodb.Client // nil on the embedded store
	tables dynamo.Tables
	pg     *pgxpool.Pool   // nil unless on PostgreSQL
	redis  *goredis.Client // nil unless on Redis
	ns     string          // the Redis key namespace
	logs   *testlog.Buffer
	client *http.Client // http.DefaultClient when nil; see from
	mac    mac.Source   // the server MAC key: the sender's, to mint mail links
}

// stores are the store kinds every flow runs on.
var stores = []string{"memory", "dynamodb", "postgres", "redis"}

// newEnv starts a server on kind (one of stores); edit adjusts the
// config, wrap the store (both may be nil).
func newEnv(t *testing.T, kind string, edit func(*config.Config), wrap func(apifn.Store) apifn.Store) *env {
	t.Helper()
	cfg := config.Default()
	cfg.LoginBackoffBase = 2 * time.Second
	// The request deadline is for production's one request per Lambda; on a
	// shared 2-core machine running many flows at once a login (argon2id
	// queued behind others, moto serialised) can take longer. Deadlines have
	// their own tests (test/faults, pkg/httpapi).
	cfg.StoreTimeout = 30 * time.Second
	if edit != nil {
		edit(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, clock: testapi.NewClock(time.Now().UTC()), logs: &testlog.Buffer{}}
	var st apifn.Store
	switch kind {
	case "memory":
		st = memory.New()
	case "dynamodb":
		e.db = testenv.DynamoDB(t)
		e.tables = testenv.DynamoTables(t, e.db)
		st = dynamo.New(e.db, e.tables)
	case "postgres":
		e.pg = testenv.PostgresPool(t, testenv.PostgresSchema(t))
		st = postgres.New(e.pg)
	case "redis":
		e.redis = testenv.RedisClient(t, testenv.RedisURL(t))
		e.ns = testenv.RedisNamespace(t)
		st = rstore.New(e.redis, e.ns)
	default:
		t.Fatalf("unknown store %q", kind)
	}
	e.store = st
	if wrap != nil {
		st = wrap(st)
	}
	d := testapi.Deps(t, cfg, st, e.logs.Logger(slog.LevelDebug))
	e.mac = d.MAC
	e.url = testapi.Serve(t, cfg, d, testapi.API(t, cfg, d), e.clock.Now)
	return e
}

// response is an HTTP answer with its body decoded.
type response struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

func (r response) str(k string) string { s, _ := r.Body[k].(string); return s }

// do sends a request; body may be a string (sent as is) or a value (JSON).
func (e *env) do(method, path string, body any, headers ...string) response {
	e.t.Helper()
	return e.send(testapi.Request(e.t, method, e.url+path, body, headers...))
}

// send sends req with e's client, checks the answer against the contract
// (conform) and decodes it.
func (e *env) send(req *http.Request) response {
	e.t.Helper()
	c := e.client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	e.conform(req, resp, raw)
	out := response{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &out.Body)
	}
	return out
}

// from returns the same server seen from another source address: a loopback
// address such as 127.0.0.2, which the server sees as the client's IP (every
// 127.0.0.0/8 address is local on Linux). No header is trusted for it.
func (e *env) from(ip string) *env {
	e.t.Helper()
	addr := net.ParseIP(ip)
	if addr == nil || !addr.IsLoopback() {
		e.t.Fatalf("from(%q): want a loopback address", ip)
	}
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: addr}}
	tr := &http.Transport{DialContext: d.DialContext}
	e.t.Cleanup(tr.CloseIdleConnections)
	c := *e
	c.client = &http.Client{Transport: tr}
	return &c
}

func (e *env) signup(user, pw string) string {
	e.t.Helper()
	r := e.do("POST", "/auth/signup", map[string]string{"username": user, "password": pw})
	if r.Status != http.StatusCreated || r.str("user_id") == "" {
		e.t.Fatalf("signup %s: %d %s", user, r.Status, r.Raw)
	}
	return r.str("user_id")
}

// pair is a token response.
type pair struct{ Access, Refresh string }

func (e *env) login(user, pw string) pair {
	e.t.Helper()
	r := e.do("POST", "/auth/login", map[string]string{"username": user, "password": pw})
	if r.Status != http.StatusOK {
		e.t.Fatalf("login %s: %d %s", user, r.Status, r.Raw)
	}
	return pairOf(e.t, r)
}

func pairOf(t *testing.T, r response) pair {
	t.Helper()
	p := pair{Access: r.str("access_token"), Refresh: r.str("refresh_token")}
	if p.Access == "" || p.Refresh == "" || r.str("token_type") != "Bearer" || r.Body["expires_in"] == nil || r.Body["refresh_token_expires_in"] == nil {
		t.Fatalf("not a token response: %s", r.Raw)
	}
	return p
}

func (e *env) refresh(rt string) response {
	e.t.Helper()
	return e.do("POST", "/auth/refresh", map[string]string{"refresh_token": rt})
}

func (e *env) me(access string) response {
	e.t.Helper()
	return e.do("GET", "/me", nil, "Authorization", "Bearer "+access)
}

// wantError checks an error response's status and code.
func wantError(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.Status != status || r.str("error") != code || r.str("error_description") == "" {
		t.Fatalf("got %d %s; want %d with error %q", r.Status, r.Raw, status, code)
	}
}

// together runs n requests at once (released together) and returns their answers.
func together(n int, send func(i int) response) []response {
	got := make([]response, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			got[i] = send(i)
		}()
	}
	close(start)
	wg.Wait()
	return got
}
