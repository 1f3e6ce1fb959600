package apifn_test

import (
	"errors"
	"testing"

	"github.com/rotor-auth/rotor/pkg/app"
	"github.com/rotor-auth/rotor/pkg/app/apifn"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/httpapi"
	"github.com/rotor-auth/rotor/pkg/store/memory"
)

func from(apiID string) httpapi.Request {
	var r httpapi.Request
	r.RequestContext.APIID = apiID
	return r
}

// TestPinnedAPI: a deployed function's issuer waits for the REST API id, takes
// it from the first event's request context, and never changes afterwards.
func TestPinnedAPI(t *testing.T) {
	cfg := config.Default()
	cfg.Issuer = "https://{api_id}.execute-api.eu-west-1.amazonaws.com/v1"
	ks, err := app.DevKeys(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := &apifn.PinnedAPI{Config: cfg, Deps: apifn.Deps{Store: memory.New(), Keys: ks}}
	if _, err := p.For(from("")); !errors.Is(err, config.ErrIssuer) {
		t.Fatalf("an event without an API id: %v", err)
	}
	api, err := p.For(from("abcdef1234"))
	if err != nil {
		t.Fatal(err)
	}
	want := "https://abcdef1234.execute-api.eu-west-1.amazonaws.com/v1"
	if api.Issuer != want || api.Auth.Tokens.Issuer != want || api.Verifier.Issuer != want {
		t.Fatalf("issuer: discovery %q, tokens %q, verifier %q; want %q", api.Issuer, api.Auth.Tokens.Issuer, api.Verifier.Issuer, want)
	}
	if again, err := p.For(from("abcdef1234")); err != nil || again != api {
		t.Fatalf("second event: a new API (%v)", err)
	}
	if _, err := p.For(from("zzzzzz9999")); !errors.Is(err, config.ErrIssuer) {
		t.Fatalf("an event from another API: %v; want refused", err)
	}

	fixed := config.Default()
	q := &apifn.PinnedAPI{Config: fixed, Deps: apifn.Deps{Store: memory.New(), Keys: ks}}
	api, err = q.For(from("whatever"))
	if err != nil || api.Issuer != fixed.Issuer {
		t.Fatalf("a whole issuer: %v, %v", api, err)
	}
}
