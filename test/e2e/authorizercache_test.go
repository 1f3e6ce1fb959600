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
	for _, ttl := range []string{"0", "60", "300", "3600"} {
		params := map[string]string{"AuthorizerCacheTTL": ttl}
		eval := tpl.evaluator(t, params)
		vars := tpl.get(t, "Resources", "AuthorizerFunction", "Properties", "Environment", "Variables").(map[string]any)
		env := map[string]string{}
		for _, name := range []string{"ROTOR_AUTHORIZER_CACHE_TTL", "ROTOR_GATEWAY_CACHE_TTL"} {
			if v, ok := vars[name]; ok {
				env[name] = fmt.Sprint(eval(v))
			}
		}
		cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		if err != nil {
			t.Fatal(err)
		}
		var secs int
		every := fmt.Sprint(eval(tpl.get(t, "Resources", "RotorApi", "Properties", "Auth", "Authorizers", "RotorTokenAuthorizer", "Identity", "ReauthorizeEvery")))
		if _, err := fmt.Sscan(strings.TrimSpace(every), &secs); err != nil {
			t.Fatalf("ReauthorizeEvery %q: %v", every, err)
		}
		gateway := time.Duration(secs) * time.Second
		if cfg.GatewayCacheTTL < gateway {
			t.Errorf("AuthorizerCacheTTL=%s: the function leaves API Gateway %s of the bound, but the gateway keeps an answer %s", ttl, cfg.GatewayCacheTTL, gateway)
		}
		if cfg.AuthorizerCacheTTL != gateway {
			t.Errorf("AuthorizerCacheTTL=%s: the function's bound is %s, the gateway's TTL %s; the docs give one bound", ttl, cfg.AuthorizerCacheTTL, gateway)
		}
	}
}
