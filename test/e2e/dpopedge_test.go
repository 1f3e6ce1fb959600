package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/internal/testapi"
	"github.com/rotor-auth/rotor/pkg/app/authorizerfn"
	"github.com/rotor-auth/rotor/pkg/authorizer"
	"github.com/rotor-auth/rotor/pkg/dpop"
	"github.com/rotor-auth/rotor/pkg/store/memory"
)

// TestTemplateDPoPAtTheEdge: template.yaml as deployed with each Dpop value.
// Off, the API's authorizer is today's TOKEN authorizer with API Gateway's
// cache. On, it is a REQUEST authorizer (the event carries the DPoP header
// and the URL) with the gateway cache off, the function is told so, and the
// function built from that environment allows a bound token with its proof
// on a REST REQUEST event and refuses the same proof replayed: no gateway
// cache answers for a proof, and the function's own refuses nothing it
// should check.
func TestTemplateDPoPAtTheEdge(t *testing.T) {
	tpl := loadTemplate(t, "../../template.yaml")
	for _, mode := range []string{"off", "optional", "required"} {
		t.Run(mode, func(t *testing.T) {
			params := map[string]string{"AuthorizerCacheTTL": "300", "Dpop": mode, "DpopNonce": "false", "CorsAllowOrigin": "*"}
			eval := tpl.evaluator(t, params)
			name := fmt.Sprint(eval(tpl.get(t, "Resources", "RotorApi", "Properties", "Auth", "DefaultAuthorizer")))
			az := []string{"Resources", "RotorApi", "Properties", "Auth", "Authorizers", name}
			typ := fmt.Sprint(tpl.get(t, append(az, "FunctionPayloadType")...))
			identity := eval(tpl.get(t, append(az, "Identity")...)).(map[string]any)
			challenge := fmt.Sprint(eval(tpl.get(t, "Resources", "RotorApi", "Properties", "GatewayResponses", "UNAUTHORIZED", "ResponseParameters", "Headers", "WWW-Authenticate")))
			cfg, gateway := templateAuthorizer(t, tpl, params)
			if mode == "off" {
				if typ != "TOKEN" || gateway != 300*time.Second || strings.Contains(challenge, "DPoP") {
					t.Fatalf("Dpop off: %s authorizer, gateway cache %s, challenge %s; want today's TOKEN authorizer", typ, gateway, challenge)
				}
				return
			}
			headers := fmt.Sprint(identity["Headers"])
			if typ != "REQUEST" || gateway != 0 || cfg.GatewayCacheTTL != 0 || !strings.Contains(headers, "Authorization") {
				t.Fatalf("Dpop %s: %s authorizer, gateway cache %s, function told %s, identity %s; want REQUEST, no cache, Authorization", mode, typ, gateway, cfg.GatewayCacheTTL, headers)
			}
			if mode == "required" && !strings.Contains(headers, "DPoP") {
				t.Errorf("Dpop required: identity %s; want the DPoP header too (a call without a proof refused free)", headers)
			}
			if !strings.Contains(challenge, `DPoP error=\"invalid_token\"`) && !strings.Contains(challenge, `DPoP error="invalid_token"`) {
				t.Errorf("Dpop %s: the 401's challenge %s names no DPoP scheme", mode, challenge)
			}
			if cfg.DPoP != mode {
				t.Errorf("the function's ROTOR_DPOP is %q", cfg.DPoP)
			}

			// The function as configured, on a real REST REQUEST event.
			cfg.StrictSessions = false
			d := testapi.Deps(t, cfg, memory.New(), nil)
			a := authorizerfn.New(cfg, d.Keys, d.Store, d.MAC, d.Log)
			key, access := testapi.BoundAccess(t, cfg, d)
			url := "https://abcdef1234.execute-api.us-east-1.amazonaws.com/v1/me" // the event's stage and path
			p, err := dpop.NewProof(key, dpop.Request{Method: "GET", URL: url, AccessToken: access})
			if err != nil {
				t.Fatal(err)
			}
			withProof := restEvent(t, "DPoP "+access, p)
			if _, err := a.Invoke(context.Background(), withProof); err != nil {
				t.Fatalf("a bound token with its proof: %v", err)
			}
			if _, err := a.Invoke(context.Background(), withProof); !errors.Is(err, authorizer.ErrUnauthorized) {
				t.Errorf("the same proof again: %v; want Unauthorized", err)
			}
			if _, err := a.Invoke(context.Background(), restEvent(t, "DPoP "+access)); !errors.Is(err, authorizer.ErrUnauthorized) {
				t.Errorf("the bound token without a proof: %v; want Unauthorized", err)
			}
		})
	}
}

// restEvent is events/authorizer-request.json (a REST REQUEST event for GET
// /me on stage v1 of API abcdef1234) with authorization as its
// Authorization header and proofs as its DPoP headers.
func restEvent(t *testing.T, authorization string, proofs ...string) json.RawMessage {
	t.Helper()
	raw, err := os.ReadFile("../../events/authorizer-request.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	h, mv := ev["headers"].(map[string]any), ev["multiValueHeaders"].(map[string]any)
	host := "abcdef1234.execute-api.us-east-1.amazonaws.com"
	h["Host"], mv["Host"] = host, []string{host}
	h["Authorization"], mv["Authorization"] = authorization, []string{authorization}
	if len(proofs) > 0 {
		h["DPoP"], mv["DPoP"] = proofs[len(proofs)-1], proofs
	}
	ev["requestContext"].(map[string]any)["domainName"] = host
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
