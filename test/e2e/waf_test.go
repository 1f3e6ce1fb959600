package e2e

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// passwordRoutes are the routes that check a password without an access
// token: every one is a credential-stuffing door, so the optional WAF rule
// limits each per source IP. /oauth/token's password grant is the same login
// as /auth/login.
var passwordRoutes = []string{"POST /auth/login", "POST /auth/signup", "POST /oauth/token"}

// TestTemplateWAFCoversPasswordRoutes: with EnableWaf, the per-IP rate rule
// of template.yaml matches every route that takes a password guess, as API
// Gateway's stage URI or a custom domain's path shows it to WAF, and leaves
// the protected routes alone. A route missing from the rule's scope is a door
// where one address gets unlimited guesses past the edge.
func TestTemplateWAFCoversPasswordRoutes(t *testing.T) {
	tpl := loadTemplate(t, "../../template.yaml")

	// Every API route of the template, so a renamed route fails here too.
	routes := map[string]bool{}
	for _, r := range tpl.get(t, "Resources").(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] != "AWS::Serverless::Function" {
			continue
		}
		events, _ := res["Properties"].(map[string]any)["Events"].(map[string]any)
		for _, e := range events {
			ev := e.(map[string]any)
			props, _ := ev["Properties"].(map[string]any)
			if ev["Type"] != "Api" {
				continue
			}
			routes[strings.ToUpper(fmt.Sprint(props["Method"]))+" "+fmt.Sprint(props["Path"])] = true
		}
	}
	for _, r := range passwordRoutes {
		if !routes[r] {
			t.Fatalf("template.yaml has no route %s", r)
		}
	}

	acl := tpl.get(t, "Resources", "WebAcl", "Properties").(map[string]any)
	var rule map[string]any
	for _, r := range acl["Rules"].([]any) {
		m := r.(map[string]any)
		if tpl.at(m, "Statement", "RateBasedStatement") != nil {
			rule = m
		}
	}
	if rule == nil {
		t.Fatal("WebAcl has no rate-based rule")
	}
	rate := tpl.at(rule, "Statement", "RateBasedStatement").(map[string]any)
	if rate["AggregateKeyType"] != "IP" {
		t.Errorf("the rate rule aggregates by %v; want IP", rate["AggregateKeyType"])
	}
	if fmt.Sprint(rate["Limit"]) != fmt.Sprint(map[string]any{"Ref": "WafRateLimit"}) {
		t.Errorf("the rate rule's limit is %v; want the WafRateLimit parameter", rate["Limit"])
	}
	if _, ok := tpl.at(rule, "Action", "Block").(map[string]any); !ok {
		t.Errorf("the rate rule's action is %v; want Block", rule["Action"])
	}
	scope := rate["ScopeDownStatement"]
	for _, r := range passwordRoutes {
		path := strings.SplitN(r, " ", 2)[1]
		// The stage's execute-api URI, a custom domain at its root, one
		// under a base path.
		for _, uri := range []string{"/Prod" + path, path, "/v1" + path} {
			if !wafMatches(t, scope, uri) {
				t.Errorf("the per-IP rule does not cover %s (URI %s)", r, uri)
			}
		}
	}
	for _, uri := range []string{"/Prod/me", "/Prod/.well-known/jwks.json", "/Prod/auth/sessions"} {
		if wafMatches(t, scope, uri) {
			t.Errorf("the per-IP rule for password guesses also limits %s", uri)
		}
	}
}

// wafMatches evaluates the WAF statements the template uses (OrStatement,
// ByteMatchStatement on UriPath) for a request URI; anything else fails the
// test, so a new shape is evaluated here before it is trusted.
func wafMatches(t *testing.T, st any, uri string) bool {
	t.Helper()
	m, _ := st.(map[string]any)
	if or, ok := m["OrStatement"].(map[string]any); ok {
		for _, s := range or["Statements"].([]any) {
			if wafMatches(t, s, uri) {
				return true
			}
		}
		return false
	}
	bm, ok := m["ByteMatchStatement"].(map[string]any)
	if !ok {
		t.Fatalf("WAF statement %v: only OrStatement and ByteMatchStatement are evaluated here", st)
	}
	if _, ok := bm["FieldToMatch"].(map[string]any)["UriPath"]; !ok {
		t.Fatalf("ByteMatchStatement on %v; want UriPath", bm["FieldToMatch"])
	}
	v := uri
	for _, tr := range bm["TextTransformations"].([]any) {
		switch typ := tr.(map[string]any)["Type"]; typ {
		case "NONE":
		case "LOWERCASE":
			v = strings.ToLower(v)
		case "URL_DECODE":
			if d, err := url.PathUnescape(v); err == nil {
				v = d
			}
		default:
			t.Fatalf("text transformation %v is not evaluated here", typ)
		}
	}
	want := fmt.Sprint(bm["SearchString"])
	switch c := bm["PositionalConstraint"]; c {
	case "EXACTLY":
		return v == want
	case "STARTS_WITH":
		return strings.HasPrefix(v, want)
	case "ENDS_WITH":
		return strings.HasSuffix(v, want)
	case "CONTAINS":
		return strings.Contains(v, want)
	default:
		t.Fatalf("positional constraint %v is not evaluated here", c)
	}
	return false
}
