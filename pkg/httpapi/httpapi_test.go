package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/internal/testapi"
	"github.com/rotor-auth/rotor/pkg/app/apifn"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/httpapi"
	"github.com/rotor-auth/rotor/pkg/store/memory"
	"github.com/rotor-auth/rotor/pkg/throttle"
	"github.com/rotor-auth/rotor/pkg/users"
)

// event is AWS's sample REST proxy event (aws-lambda-go events/testdata),
// re-aimed at path under the stage "Prod" with body.
func event(t testing.TB, path, body string) httpapi.Request {
	t.Helper()
	raw, err := os.ReadFile("testdata/apigw-request.json")
	if err != nil {
		t.Fatal(err)
	}
	var req httpapi.Request
	if err := json.Unmarshal(raw, &req); err != nil {
		t.Fatal(err)
	}
	req.Resource, req.Path, req.Body = path, path, body
	req.RequestContext.Path = "/Prod" + path
	req.RequestContext.Stage = "Prod"
	return req
}

func newAPI(t testing.TB, st apifn.Store) *httpapi.API {
	t.Helper()
	cfg := config.Default()
	cfg.StoreTimeout = time.Minute // a hang guard: no wall clock decides a test (docs/TESTING.md)
	api := testapi.API(t, cfg, testapi.Deps(t, cfg, st, nil))
	return api
}

const creds = `{"username":"alice","password":"correct horse battery"}`

func TestSampleEvent(t *testing.T) {
	api := newAPI(t, memory.New())
	ctx := context.Background()

	resp, err := api.Signup(ctx, event(t, "/auth/signup", creds))
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("signup: %d %s %v", resp.StatusCode, resp.Body, err)
	}
	for k, want := range map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store", "Access-Control-Allow-Origin": "*"} {
		if got := resp.Headers[k]; got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}

	// API Gateway may hand a body over base64-encoded.
	req := event(t, "/auth/login", base64.StdEncoding.EncodeToString([]byte(creds)))
	req.IsBase64Encoded = true
	if resp, _ := api.Login(ctx, req); resp.StatusCode != http.StatusOK {
		t.Fatalf("login with a base64 body: %d %s", resp.StatusCode, resp.Body)
	}
}

func TestCookiePathIncludesStage(t *testing.T) {
	api := newAPI(t, memory.New())
	api.CORSOrigin = "https://app.example.com"
	ctx := context.Background()
	if resp, _ := api.Signup(ctx, event(t, "/auth/signup", creds)); resp.StatusCode != http.StatusCreated {
		t.Fatal(resp.Body)
	}
	req := event(t, "/auth/login", creds)
	req.Headers["x-rotor-refresh-transport"] = "cookie"
	resp, _ := api.Login(ctx, req)
	cookies := resp.MultiValueHeaders["Set-Cookie"]
	if resp.StatusCode != http.StatusOK || len(cookies) != 3 {
		t.Fatalf("login: %d %s %v", resp.StatusCode, resp.Body, cookies)
	}
	for _, c := range cookies {
		if !strings.Contains(c, "Path=/Prod/auth") || !strings.Contains(c, "HttpOnly") || !strings.Contains(c, "Secure") || !strings.Contains(c, "SameSite=Strict") {
			t.Errorf("cookie %q: want Path=/Prod/auth, HttpOnly, Secure, SameSite=Strict", c)
		}
	}
	if strings.Contains(resp.Body, "refresh_token\"") || strings.Contains(resp.Body, "device_token") {
		t.Errorf("cookie transport leaked the refresh or device token into the body: %s", resp.Body)
	}
}

// broken fails every login read with an internal error.
type broken struct{ *memory.Store }

func (broken) ReserveLogin(context.Context, string, []throttle.Counter, time.Time) (users.User, time.Time, throttle.Reservation, error) {
	return users.User{}, time.Time{}, throttle.Reservation{}, errors.New("dynamo: reserve: AccessDeniedException: arn:aws:iam::123456789012:role/x")
}

func TestInternalErrorsStayInside(t *testing.T) {
	api := newAPI(t, broken{memory.New()})
	resp, err := api.Login(context.Background(), event(t, "/auth/login", creds))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(resp.Body, `"error":"server_error"`) {
		t.Fatalf("got %d %s", resp.StatusCode, resp.Body)
	}
	for _, leak := range []string{"dynamo", "AccessDenied", "arn:", "123456789012"} {
		if strings.Contains(resp.Body, leak) {
			t.Errorf("response leaks %q: %s", leak, resp.Body)
		}
	}
}
