package lambda_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"syscall"
	"testing"

	"github.com/rotor-auth/rotor/internal/testenv"
)

// TestFrozenDynamoDB runs the real login and refresh binaries under the
// runtime emulator against a DynamoDB (a private moto_server) frozen with
// SIGSTOP: each answers 503 temporarily_unavailable well inside the
// function's timeout, and logs it; after SIGCONT the refresh retried with its
// ticket rotates and login works.
func TestFrozenDynamoDB(t *testing.T) {
	e := requireEnv(t)
	url, moto := testenv.PrivateMoto(t)
	vars, err := provision(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	vars["ROTOR_STORE_TIMEOUT"] = "1s"
	private := &environment{root: e.root, buildDir: e.buildDir, rie: e.rie, motoURL: url, vars: vars, funcs: map[string]*function{}}
	t.Cleanup(private.stopAll)
	invoke := func(id string, r request) response {
		t.Helper()
		f := private.start(t, id)
		raw, ierr := f.invoke(t, restEvent(t, r))
		if ierr != nil {
			t.Fatalf("%s: handler error %q; a route must answer with a status code\n%s", id, ierr.Message, f.log.String())
		}
		var out response
		if err := json.Unmarshal(raw, &out.APIGatewayProxyResponse); err != nil {
			t.Fatalf("%s: %v: %s", id, err, raw)
		}
		_ = json.Unmarshal([]byte(out.Body), &out.json)
		return out
	}
	creds := mustJSON(map[string]string{"username": "frozen", "password": "correct horse battery"})
	expectStatus(t, "signup", invoke("SignupFunction", request{method: "POST", path: "/auth/signup", body: creds}), 201)
	p := checkTokenResponse(t, "login", invoke("LoginFunction", request{method: "POST", path: "/auth/login", body: creds}))
	// Warm the refresh function (its cold start reads its secrets).
	r := invoke("RefreshFunction", request{method: "POST", path: "/auth/refresh", body: mustJSON(map[string]string{"refresh_token": p.Refresh})})
	p = checkTokenResponse(t, "refresh", r)

	if err := moto.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	expectError(t, "login, DynamoDB frozen", invoke("LoginFunction", request{method: "POST", path: "/auth/login", body: creds}), http.StatusServiceUnavailable, "temporarily_unavailable")
	frozen := invoke("RefreshFunction", request{method: "POST", path: "/auth/refresh", body: mustJSON(map[string]string{"refresh_token": p.Refresh})})
	expectError(t, "refresh, DynamoDB frozen", frozen, http.StatusServiceUnavailable, "temporarily_unavailable")
	ticket := frozen.str("retry_ticket")
	if ticket == "" {
		t.Fatalf("the refresh's 503 carries no retry_ticket: %s", frozen.Body)
	}
	if err := moto.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}

	r = invoke("RefreshFunction", request{method: "POST", path: "/auth/refresh", body: mustJSON(map[string]string{"refresh_token": p.Refresh, "retry_ticket": ticket})})
	next := checkTokenResponse(t, "refresh retried with its ticket after the freeze", r)
	r = invoke("RefreshFunction", request{method: "POST", path: "/auth/refresh", body: mustJSON(map[string]string{"refresh_token": next.Refresh})})
	checkTokenResponse(t, "the next refresh", r)
	checkTokenResponse(t, "login after the freeze", invoke("LoginFunction", request{method: "POST", path: "/auth/login", body: creds}))
	// Checked last: a function's output reaches us through the emulator,
	// and by its next invocation the earlier one's is through.
	for _, id := range []string{"LoginFunction", "RefreshFunction"} {
		if log := private.start(t, id).log.String(); !containsAll(log, `"status":503`, "deadline exceeded") {
			t.Errorf("%s did not log its 503 with the cause:\n%s", id, log)
		}
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
