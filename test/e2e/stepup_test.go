package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/sessions"
	"github.com/rotor-auth/rotor/pkg/stepup"
)

// mfaRoute is the route TestStepUpAtTheEdge makes MFA-only: ending a
// session, a route every login can call.
const mfaRoute = "DELETE /auth/sessions/*"

// claimsOf decodes an access token's payload (no check: the server did).
func claimsOf(t *testing.T, access string) map[string]any {
	t.Helper()
	parts := strings.Split(access, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func amrOf(t *testing.T, access string) []string {
	t.Helper()
	var out []string
	raw, _ := claimsOf(t, access)["amr"].([]any)
	for _, m := range raw {
		s, _ := m.(string)
		out = append(out, s)
	}
	return out
}

// wantStepUp checks the answer of an MFA route to a token without "mfa":
// RFC 9470's 401 with its WWW-Authenticate challenge, and the contract's
// error body (template.yaml's ACCESS_DENIED gateway response).
func wantStepUp(t *testing.T, r response) {
	t.Helper()
	wantError(t, r, http.StatusUnauthorized, "insufficient_user_authentication")
	if h := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, `Bearer error="insufficient_user_authentication"`) {
		t.Fatalf("WWW-Authenticate %q; want Bearer error=\"insufficient_user_authentication\"", h)
	}
}

// TestStepUpAtTheEdge, on every store, through the local server's
// authorizer: with ROTOR_MFA_ROUTES naming a route, a password login's
// access token is refused there with insufficient_user_authentication and
// allowed everywhere else; a refresh keeps the session's methods (it never
// upgrades a password session to "mfa"); a session started with a second
// factor (amr pwd otp mfa, as the MFA verify flow starts it) gets tokens
// that pass, refresh after refresh. GET /auth/sessions shows amr and
// auth_time.
func TestStepUpAtTheEdge(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, func(c *config.Config) {
				rs, err := stepup.Parse(mfaRoute)
				if err != nil {
					t.Fatal(err)
				}
				c.MFARoutes = rs
			}, nil)
			const pw = "correct horse battery"
			e.signup("alice", pw)
			p, sid := e.loginAs("alice", pw, "stepup/1.0")
			if got := amrOf(t, p.Access); !slices.Equal(got, []string{"pwd"}) {
				t.Fatalf("password login: amr %q; want [pwd]", got)
			}
			if at, ok := claimsOf(t, p.Access)["auth_time"].(float64); !ok || time.Unix(int64(at), 0).After(e.clock.Now()) {
				t.Fatalf("password login: auth_time %v", claimsOf(t, p.Access)["auth_time"])
			}

			// Allowed everywhere but the MFA route.
			if r := e.me(p.Access); r.Status != http.StatusOK {
				t.Fatalf("GET /me with a password token: %d %s", r.Status, r.Raw)
			}
			list := e.do("GET", "/auth/sessions", nil, bearer(p.Access)...)
			if list.Status != http.StatusOK || !strings.Contains(list.Raw, `"amr":["pwd"]`) || !strings.Contains(list.Raw, `"auth_time":"`) {
				t.Fatalf("GET /auth/sessions: %d %s; want amr and auth_time", list.Status, list.Raw)
			}
			wantStepUp(t, e.do("DELETE", "/auth/sessions/"+sid, nil, bearer(p.Access)...))

			// A refresh keeps ["pwd"]: still refused.
			p = e.wantRefreshOK("password session", p.Refresh)
			if got := amrOf(t, p.Access); !slices.Equal(got, []string{"pwd"}) {
				t.Fatalf("refreshed password session: amr %q; want [pwd]", got)
			}
			wantStepUp(t, e.do("DELETE", "/auth/sessions/"+sid, nil, bearer(p.Access)...))

			// A session started with a second factor: the MFA verify flow
			// (another branch) calls Start with these methods; its tokens come
			// from the server's own refresh.
			ctx := context.Background()
			u, err := e.store.GetUser(ctx, "alice")
			if err != nil {
				t.Fatal(err)
			}
			mgr := &sessions.Manager{Store: e.store, MAC: e.mac, IdleTTL: time.Hour, MaxTTL: 24 * time.Hour}
			authAt := e.clock.Now().Add(-time.Second).UTC().Truncate(time.Millisecond)
			iss, err := mgr.Start(ctx, sessions.Owner{UserID: u.ID, Username: u.Username, Epoch: u.Epoch, Sessions: u.Sessions},
				sessions.Meta{UserAgent: "stepup/mfa", AMR: []string{"pwd", "otp", "mfa"}, AuthTime: authAt}, e.clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			m := e.wantRefreshOK("mfa session", iss.RefreshToken)
			for i := range 2 {
				if got := amrOf(t, m.Access); !slices.Equal(got, []string{"pwd", "otp", "mfa"}) {
					t.Fatalf("mfa session, refresh %d: amr %q", i, got)
				}
				if at, _ := claimsOf(t, m.Access)["auth_time"].(float64); int64(at) != authAt.Unix() {
					t.Fatalf("mfa session, refresh %d: auth_time %v; want %d (a refresh keeps it)", i, at, authAt.Unix())
				}
				e.clock.Advance(time.Minute)
				m = e.wantRefreshOK("mfa session", m.Refresh)
			}
			items := e.do("GET", "/auth/sessions", nil, bearer(m.Access)...)
			if !strings.Contains(items.Raw, `"amr":["pwd","otp","mfa"]`) {
				t.Fatalf("GET /auth/sessions: %s; want the mfa session's methods", items.Raw)
			}
			if r := e.do("DELETE", "/auth/sessions/"+sid, nil, bearer(m.Access)...); r.Status != http.StatusNoContent {
				t.Fatalf("DELETE with an mfa token: %d %s; want 204", r.Status, r.Raw)
			}
			// The password session is gone; the route still refuses a password
			// token of a fresh login, and an unknown id is refused before 404.
			p2 := e.login("alice", pw)
			wantStepUp(t, e.do("DELETE", "/auth/sessions/nope", nil, bearer(p2.Access)...))
		})
	}
}

// TestTemplateStepUp: template.yaml feeds its MfaRoutes parameter to the
// authorizer function as ROTOR_MFA_ROUTES (the function's config reads
// it), and its ACCESS_DENIED gateway response (what API Gateway answers
// for the authorizer's Deny) is the local server's step-up answer: status,
// WWW-Authenticate and body.
func TestTemplateStepUp(t *testing.T) {
	tpl := loadTemplate(t, "../../template.yaml")
	for _, routes := range []string{"", "POST /payments/*,DELETE /account"} {
		eval := tpl.evaluator(t, map[string]string{"MfaRoutes": routes})
		vars := tpl.get(t, "Resources", "AuthorizerFunction", "Properties", "Environment", "Variables").(map[string]any)
		v, ok := vars["ROTOR_MFA_ROUTES"]
		if !ok {
			t.Fatal("the authorizer function has no ROTOR_MFA_ROUTES")
		}
		env := map[string]string{"ROTOR_MFA_ROUTES": fmt.Sprint(eval(v))}
		cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		if err != nil {
			t.Fatal(err)
		}
		if cfg.MFARoutes.String() != routes {
			t.Errorf("MfaRoutes %q reaches the authorizer as %q", routes, cfg.MFARoutes)
		}
	}
	if d := tpl.get(t, "Parameters", "MfaRoutes", "Default"); d != "" {
		t.Errorf("MfaRoutes defaults to %q; want none", d)
	}

	e := newEnv(t, "memory", func(c *config.Config) { c.MFARoutes, _ = stepup.Parse(mfaRoute) }, nil)
	e.signup("alice", "correct horse battery")
	local := e.do("DELETE", "/auth/sessions/x", nil, bearer(e.login("alice", "correct horse battery").Access)...)
	wantStepUp(t, local)
	eval := tpl.evaluator(t, map[string]string{"CorsAllowOrigin": "*"})
	gr := tpl.get(t, "Resources", "RotorApi", "Properties", "GatewayResponses", "ACCESS_DENIED")
	if status := fmt.Sprint(eval(tpl.at(gr, "StatusCode"))); status != fmt.Sprint(local.Status) {
		t.Errorf("ACCESS_DENIED status %s; the local server's %d", status, local.Status)
	}
	h, _ := eval(tpl.at(gr, "ResponseParameters", "Headers", "WWW-Authenticate")).(string)
	if h != "'"+local.Header.Get("WWW-Authenticate")+"'" {
		t.Errorf("ACCESS_DENIED WWW-Authenticate %s; the local server's %q", h, local.Header.Get("WWW-Authenticate"))
	}
	if body := fmt.Sprint(eval(tpl.at(gr, "ResponseTemplates", "application/json"))); body != local.Raw {
		t.Errorf("ACCESS_DENIED body %s; the local server's %s", body, local.Raw)
	}
}
