package devserver_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/internal/testapi"
	"github.com/rotor-auth/rotor/pkg/app/authorizerfn"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/devserver"
	"github.com/rotor-auth/rotor/pkg/dpop"
	"github.com/rotor-auth/rotor/pkg/store/memory"
)

// TestProtectedRouteDPoP: the local server passes a protected route's DPoP
// header, method and URL to the authorizer, as API Gateway's REQUEST event
// does, and answers a refusal with RFC 9449's challenge (which API
// Gateway's static 401 cannot): invalid_dpop_proof for a missing or wrong
// proof, use_dpop_nonce with a fresh DPoP-Nonce when nonces are on; with
// that nonce the proof passes.
func TestProtectedRouteDPoP(t *testing.T) {
	for _, nonces := range []bool{false, true} {
		t.Run(map[bool]string{false: "no nonces", true: "nonces"}[nonces], func(t *testing.T) {
			cfg := config.Default()
			cfg.StoreTimeout = time.Minute
			cfg.DPoP, cfg.DPoPNonce = config.DPoPOptional, nonces
			d := testapi.Deps(t, cfg, memory.New(), nil)
			srv := httptest.NewServer((&devserver.Server{API: testapi.API(t, cfg, d), Authorizer: authorizerfn.New(cfg, d.Keys, d.Store, d.MAC, d.Log)}).Handler())
			t.Cleanup(srv.Close)

			key, access := testapi.BoundAccess(t, cfg, d)
			me := srv.URL + "/me"
			get := func(proof string) *http.Response {
				t.Helper()
				req, err := http.NewRequest("GET", me, nil)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Authorization", "DPoP "+access)
				if proof != "" {
					req.Header.Set("DPoP", proof)
				}
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp
			}
			prove := func(nonce string) string {
				p, err := dpop.NewProof(key, dpop.Request{Method: "GET", URL: me, AccessToken: access, Nonce: nonce})
				if err != nil {
					t.Fatal(err)
				}
				return p
			}

			r := get("")
			if c := r.Header.Get("WWW-Authenticate"); r.StatusCode != 401 || !strings.HasPrefix(c, `DPoP error="invalid_dpop_proof"`) || !strings.Contains(c, "ES256") {
				t.Fatalf("no proof: %d %q; want 401 DPoP invalid_dpop_proof with algs", r.StatusCode, c)
			}
			r = get(prove(""))
			nonce := ""
			if nonces {
				nonce = r.Header.Get(dpop.NonceHeader)
				if c := r.Header.Get("WWW-Authenticate"); r.StatusCode != 401 || !strings.HasPrefix(c, `DPoP error="use_dpop_nonce"`) || nonce == "" {
					t.Fatalf("no nonce: %d %q nonce %q; want 401 use_dpop_nonce and a DPoP-Nonce", r.StatusCode, c, nonce)
				}
				r = get(prove(nonce))
			}
			if r.StatusCode != 200 {
				t.Fatalf("a bound token with its proof: %d", r.StatusCode)
			}
			p := prove(nonce)
			if r := get(p); r.StatusCode != 200 {
				t.Fatalf("a fresh proof: %d", r.StatusCode)
			}
			if r := get(p); r.StatusCode != 401 {
				t.Fatalf("the same proof again: %d; want 401", r.StatusCode)
			}
		})
	}
}
