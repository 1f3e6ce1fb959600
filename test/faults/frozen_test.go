package faults

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/rotor-auth/rotor/internal/testapi"
	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/internal/testlog"
	"github.com/rotor-auth/rotor/pkg/app"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/store/dynamo"
)

// TestFrozenDynamoDB freezes a real DynamoDB (moto_server stopped with
// SIGSTOP) under the SDK client the functions build (app.LambdaAWS). Every route
// that reaches the store answers 503 temporarily_unavailable instead of
// hanging, and logs why; after SIGCONT the client's tokens still work and
// its refresh, retried with the ticket of the 503, rotates.
//
// Two servers share the table and the keys, as two function containers do.
// The frozen one has a one-second request deadline, which every frozen call
// runs into. The one that sets up and checks the recovery has a hang guard
// for a deadline: its requests hash passwords (argon2id took 380 ms a call
// beside three busy loops) and call moto, and no wall clock may decide
// whether they pass (issue 19).
func TestFrozenDynamoDB(t *testing.T) {
	url, moto := testenv.PrivateMoto(t)
	cfg := config.Default()
	cfg.StoreTimeout = time.Second
	healthyCfg := cfg
	healthyCfg.StoreTimeout = time.Minute // the most config.Validate allows
	ctx := context.Background()
	local := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRegion("us-east-1"),
		awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
		awsconfig.WithBaseEndpoint(url),
	}
	// Tables are made by deployment, not by requests: the SDK's defaults.
	setup, err := awsconfig.LoadDefaultConfig(ctx, local...)
	if err != nil {
		t.Fatal(err)
	}
	tables := dynamo.Tables{Users: "users", Sessions: "sessions", Attempts: "attempts", Outbox: "outbox"}
	if err := dynamo.CreateTables(ctx, dynamodb.NewFromConfig(setup), tables); err != nil {
		t.Fatal(err)
	}
	lambdaEnv := map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_ENDPOINT_URL": url}
	getenv := func(k string) (string, bool) { v, ok := lambdaEnv[k]; return v, ok }
	ac, err := app.LambdaAWS(getenv, cfg)
	if err != nil {
		t.Fatal(err)
	}
	healthyAC, err := app.LambdaAWS(getenv, healthyCfg)
	if err != nil {
		t.Fatal(err)
	}
	logs := &testlog.Buffer{}
	d := testapi.Deps(t, cfg, dynamo.New(dynamodb.NewFromConfig(ac), tables), logs.Logger(slog.LevelInfo))
	e := &env{t: t, url: testapi.Serve(t, cfg, d, testapi.API(t, cfg, d), nil), logs: logs}
	hd := d // the same keys, MAC key and log
	healthyStore := dynamo.New(dynamodb.NewFromConfig(healthyAC), tables)
	hd.Store = healthyStore
	h := &env{t: t, url: testapi.Serve(t, healthyCfg, hd, testapi.API(t, healthyCfg, hd), nil), logs: logs, mac: d.MAC}
	h.outboxStore = healthyStore

	h.signup("alice")
	h.signup("carol")
	h.verifiedUser("dave", "dave@example.com")
	p := h.login("alice")
	loggingOut, ending := h.login("alice"), h.login("alice")
	carol := h.login("carol")
	endingID := sessionID(t, h, ending)
	auth := func(p pair) []string { return []string{"Authorization", "Bearer " + p.Access} }

	if err := moto.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	frozen := true
	defer func() {
		if frozen {
			_ = moto.Signal(syscall.SIGCONT)
		}
	}()
	var ticket string
	routes := []struct {
		name string
		send func() response
	}{
		{"signup", func() response {
			return e.do("POST", "/auth/signup", map[string]string{"username": "bob", "password": password})
		}},
		{"login", func() response {
			return e.do("POST", "/auth/login", map[string]string{"username": "alice", "password": password})
		}},
		{"refresh", func() response {
			r := e.refresh(p.Refresh, "")
			ticket = r.str("retry_ticket")
			return r
		}},
		{"logout", func() response {
			return e.do("POST", "/auth/logout", map[string]string{"refresh_token": loggingOut.Refresh})
		}},
		{"session list", func() response { return e.do("GET", "/auth/sessions", nil, auth(p)...) }},
		{"end a session", func() response { return e.do("DELETE", "/auth/sessions/"+endingID, nil, auth(p)...) }},
		{"password change", func() response {
			return e.do("POST", "/auth/password", map[string]string{"current_password": password, "new_password": "a brand new passphrase"}, auth(carol)...)
		}},
		{"signup with an address", func() response {
			return e.do("POST", "/auth/signup", map[string]string{"username": "erin", "password": password, "email": "erin@example.com"})
		}},
		{"forgot", func() response {
			return e.do("POST", "/auth/password/forgot", map[string]string{"username": "dave"})
		}},
	}
	for _, r := range routes {
		t.Run("frozen/"+r.name, func(t *testing.T) {
			wantError(t, r.send(), http.StatusServiceUnavailable, "temporarily_unavailable")
		})
	}
	if ticket == "" {
		t.Error("the refresh's 503 carried no retry_ticket")
	}
	if n := strings.Count(logs.String(), `"status":503`); n < len(routes) {
		t.Errorf("%d of %d 503s logged by Rotor", n, len(routes))
	}
	if !strings.Contains(logs.String(), "deadline exceeded") {
		t.Errorf("no 503 logged with the deadline as its cause:\n%s", logs.String())
	}

	if err := moto.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	frozen = false
	// The client's access token works, and its refresh retried with the
	// ticket rotates whether or not the frozen write landed meanwhile.
	if m := h.do("GET", "/me", nil, auth(p)...); m.Status != http.StatusOK {
		t.Fatalf("/me after the freeze: %d %s", m.Status, m.Raw)
	}
	r := h.refresh(p.Refresh, ticket)
	if r.Status != http.StatusOK {
		t.Fatalf("refresh retried with its ticket after the freeze: %d %s", r.Status, r.Raw)
	}
	h.alive(pairOf(t, r))
	h.alive(h.login("alice"))

	// No mail without what it carries: a frozen write either never landed
	// (no message) or landed whole after the thaw (the message with its
	// token record, one transaction); never a message alone.
	for _, m := range h.outbox() {
		if m.TokenID == "" {
			continue
		}
		if _, err := healthyStore.GetToken(ctx, m.TokenID); err != nil {
			t.Errorf("a %s mail to %s is queued without its token record: %v", m.Kind, m.To, err)
		}
	}
}

// sessionID is the id of the session p belongs to, from the session list.
func sessionID(t *testing.T, e *env, p pair) string {
	t.Helper()
	list := e.do("GET", "/auth/sessions", nil, "Authorization", "Bearer "+p.Access)
	items, _ := list.Body["sessions"].([]any)
	for _, it := range items {
		m, _ := it.(map[string]any)
		if cur, _ := m["current"].(bool); cur {
			id, _ := m["id"].(string)
			return id
		}
	}
	t.Fatalf("no current session in %d %s", list.Status, list.Raw)
	return ""
}
