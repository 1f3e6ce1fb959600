package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/config"
)

// TestTemplateAuthorizerCacheBound: the authorizer function's configuration
// in template.yaml leaves API Gateway its whole cache TTL (ReauthorizeEvery)
// out of the staleness bound, so the warm decision cache plus a gateway
// node's cache of one of its answers never outlast the bound the docs give
// (a revoked session's token is refused within AuthorizerCacheTTL in strict
// mode). Were the function told a smaller gateway share than the gateway
// keeps, a node missing its cache at the last moment of a warm entry would
// keep the answer for up to twice the bound.
func TestTemplateAuthorizerCacheBound(t *testing.T) {
	tpl := loadTemplate(t, "../../template.yaml")
	for _, dpop := range []string{"off", "optional", "required"} {
		for _, ttl := range []string{"0", "60", "300", "3600"} {
			params := map[string]string{"AuthorizerCacheTTL": ttl, "Dpop": dpop, "DpopNonce": "false"}
			cfg, gateway := templateAuthorizer(t, tpl, params)
			if cfg.GatewayCacheTTL < gateway {
				t.Errorf("Dpop=%s AuthorizerCacheTTL=%s: the function leaves API Gateway %s of the bound, but the gateway keeps an answer %s", dpop, ttl, cfg.GatewayCacheTTL, gateway)
			}
			// One bound, the parameter's: held by the gateway's cache with
			// DPoP off, by the warm cache alone with DPoP on.
			if want := ttl + "s"; fmt.Sprint(cfg.AuthorizerCacheTTL.Seconds(), "s") != want {
				t.Errorf("Dpop=%s AuthorizerCacheTTL=%s: the function's bound is %s", dpop, ttl, cfg.AuthorizerCacheTTL)
			}
			if dpop == "off" && cfg.AuthorizerCacheTTL != gateway {
				t.Errorf("AuthorizerCacheTTL=%s: the function's bound is %s, the gateway's TTL %s; the docs give one bound", ttl, cfg.AuthorizerCacheTTL, gateway)
			}
		}
	}
}

// templateAuthorizer returns the authorizer function's configuration as
// template.yaml deploys it with params, and the result TTL of the API's
// authorizer (the one DefaultAuthorizer names).
func templateAuthorizer(t *testing.T, tpl template, params map[string]string) (config.Config, time.Duration) {
	t.Helper()
	eval := tpl.evaluator(t, params)
	vars := tpl.get(t, "Resources", "AuthorizerFunction", "Properties", "Environment", "Variables").(map[string]any)
	env := map[string]string{}
	for _, name := range []string{"ROTOR_AUTHORIZER_CACHE_TTL", "ROTOR_GATEWAY_CACHE_TTL", "ROTOR_DPOP", "ROTOR_DPOP_NONCE"} {
		if v, ok := vars[name]; ok {
			env[name] = fmt.Sprint(eval(v))
		}
	}
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprint(eval(tpl.get(t, "Resources", "RotorApi", "Properties", "Auth", "DefaultAuthorizer")))
	var secs int
	every := fmt.Sprint(eval(tpl.get(t, "Resources", "RotorApi", "Properties", "Auth", "Authorizers", name, "Identity", "ReauthorizeEvery")))
	if _, err := fmt.Sscan(strings.TrimSpace(every), &secs); err != nil {
		t.Fatalf("ReauthorizeEvery %q: %v", every, err)
	}
	return cfg, time.Duration(secs) * time.Second
}
