package e2e

import (
	"fmt"
	"maps"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/httpapi"
)

// TestTemplateCORS holds template.yaml and the local server (the same
// handlers as the functions) to one CORS policy, for the default origin "*"
// and for a named one: every path's preflight goes, unauthenticated, to
// PreflightFunction (pkg/cors.Preflight, the handlers' own answer, which the
// local server gives too), no function has two events with different
// authorizers on one path, the API
// has no SAM-generated preflight,
// and every gateway response carries exactly the CORS headers the local
// server puts on its stand-in for API Gateway's 401. Editing either side
// alone fails here.
func TestTemplateCORS(t *testing.T) {
	tpl := loadTemplate(t, "../../template.yaml")
	api := tpl.get(t, "Resources", "RotorApi", "Properties").(map[string]any)
	if _, ok := api["Cors"]; ok {
		t.Error("RotorApi has a Cors property: its mock preflight cannot follow the credentials rule; answer OPTIONS in the functions (see the comment in template.yaml)")
	}
	if d := tpl.get(t, "Parameters", "CorsAllowOrigin", "Default"); d != config.Default().CORSAllowOrigin {
		t.Errorf("CorsAllowOrigin defaults to %q, ROTOR_CORS_ALLOW_ORIGIN to %q", d, config.Default().CORSAllowOrigin)
	}

	// Every path of the API and, per path, the functions of its methods.
	type event struct{ function, method, authorizer string }
	paths := map[string][]event{}
	for name, r := range tpl.get(t, "Resources").(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] != "AWS::Serverless::Function" {
			continue
		}
		events, _ := res["Properties"].(map[string]any)["Events"].(map[string]any)
		for _, e := range events {
			ev := e.(map[string]any)
			props, _ := ev["Properties"].(map[string]any)
			if ev["Type"] != "Api" || fmt.Sprint(props["RestApiId"]) != fmt.Sprint(map[string]any{"Ref": "RotorApi"}) {
				continue
			}
			authz := ""
			if a, ok := props["Auth"].(map[string]any); ok {
				authz, _ = a["Authorizer"].(string)
			}
			p := props["Path"].(string)
			paths[p] = append(paths[p], event{function: name, method: strings.ToUpper(props["Method"].(string)), authorizer: authz})
		}
	}
	if len(paths) < 9 {
		t.Fatalf("found %d API paths in template.yaml; the walk is broken", len(paths))
	}
	for p, evs := range paths {
		// Every path's preflight goes, unauthenticated, to PreflightFunction
		// (whose answer is the handlers' own), and no function has two
		// events with different authorizers on one path: SAM CLI's local
		// gateway merges one function's events on one path into one route
		// with one authorizer (aws/aws-sam-cli#9165), so a protected method
		// would run without it, or its preflight need a token, at random
		// under `sam local start-api`.
		var preflights []event
		authorizers := map[string]map[string]bool{}
		for _, e := range evs {
			if authorizers[e.function] == nil {
				authorizers[e.function] = map[string]bool{}
			}
			authorizers[e.function][e.authorizer] = true
			if e.method == http.MethodOptions {
				preflights = append(preflights, e)
			} else if e.function == "PreflightFunction" {
				t.Errorf("%s: PreflightFunction serves %s; it answers OPTIONS only", p, e.method)
			}
		}
		if len(preflights) != 1 || preflights[0].function != "PreflightFunction" || preflights[0].authorizer != "NONE" {
			t.Errorf("%s: want one OPTIONS event, on PreflightFunction with Authorizer NONE; got %+v", p, preflights)
		}
		for fn, a := range authorizers {
			if len(a) > 1 {
				t.Errorf("%s: %s has events with different authorizers on this path (%v); SAM CLI would merge them into one route with one of them (give each its own function, and OPTIONS to PreflightFunction)", p, fn, a)
			}
		}
	}

	for _, origin := range []string{"*", "https://app.example.com"} {
		t.Run(origin, func(t *testing.T) {
			e := newEnv(t, "memory", func(c *config.Config) { c.CORSAllowOrigin = origin }, nil)
			named := origin != "*"

			// What the policy must allow, whatever either side says: the
			// JS client's headers and, for a named origin, credentials.
			wantPreflight := httpapi.PreflightHeaders(origin)
			for _, h := range []string{"Authorization", "Content-Type", "DPoP", "X-CSRF-Token", "X-Rotor-Refresh-Transport"} {
				if !slices.Contains(strings.Split(wantPreflight["Access-Control-Allow-Headers"], ", "), h) {
					t.Errorf("the preflight does not allow the request header %s", h)
				}
			}
			if got := wantPreflight["Access-Control-Allow-Credentials"]; (got == "true") != named {
				t.Errorf("origin %q: Access-Control-Allow-Credentials %q", origin, got)
			}

			// The template's preflight answer is PreflightFunction's,
			// cors.Preflight; the local server must give the same one on
			// every path.
			for p := range paths {
				r := e.do("OPTIONS", strings.ReplaceAll(p, "{id}", "sess"), nil,
					"Origin", "https://app.example.com", "Access-Control-Request-Method", "POST",
					"Access-Control-Request-Headers", "content-type,x-rotor-refresh-transport,x-csrf-token")
				if r.Status != http.StatusNoContent {
					t.Errorf("OPTIONS %s: %d %s", p, r.Status, r.Raw)
				}
				if got := corsOf(r.Header); !maps.Equal(got, wantPreflight) {
					t.Errorf("OPTIONS %s: CORS headers %v; want %v", p, got, wantPreflight)
				}
			}

			// API Gateway's own answers, as the template sets them, against
			// the local server's stand-in (a refused token on /me) and a
			// handler's answer.
			local := corsOf(e.me("not-a-token").Header)
			if handler := corsOf(e.do("POST", "/auth/login", "{").Header); !maps.Equal(handler, local) {
				t.Errorf("a handler's CORS headers %v; the local 401's %v", handler, local)
			}
			if !maps.Equal(local, httpapi.CORSHeaders(origin)) {
				t.Errorf("the local 401's CORS headers %v; want %v", local, httpapi.CORSHeaders(origin))
			}
			eval := tpl.evaluator(t, map[string]string{"CorsAllowOrigin": origin, "Dpop": "off"})
			responses := tpl.get(t, "Resources", "RotorApi", "Properties", "GatewayResponses").(map[string]any)
			if len(responses) < 5 {
				t.Fatalf("%d gateway responses in template.yaml", len(responses))
			}
			for name, gr := range responses {
				headers, _ := eval(tpl.at(gr, "ResponseParameters", "Headers")).(map[string]any)
				got := map[string]string{}
				for k, v := range headers {
					s, ok := v.(string)
					if !ok || len(s) < 2 || s[0] != '\'' || s[len(s)-1] != '\'' {
						t.Fatalf("gateway response %s header %s = %v: want a static '...' value", name, k, v)
					}
					if strings.HasPrefix(strings.ToLower(k), "access-control-") {
						got[http.CanonicalHeaderKey(k)] = s[1 : len(s)-1]
					}
				}
				if !maps.Equal(got, local) {
					t.Errorf("gateway response %s: CORS headers %v; the local server's %v", name, got, local)
				}
			}
		})
	}
}

// corsOf returns the Access-Control-* headers of an answer.
func corsOf(h http.Header) map[string]string {
	out := map[string]string{}
	for k, vs := range h {
		if strings.HasPrefix(k, "Access-Control-") {
			out[k] = strings.Join(vs, ", ")
		}
	}
	return out
}

// template is a CloudFormation template read as plain values, its short
// tags (!Sub, !Ref, !If ...) turned into their long form ({"Fn::Sub": ...}).
type template struct{ doc map[string]any }

func loadTemplate(t *testing.T, path string) template {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var n yaml.Node
	if err := yaml.Unmarshal(raw, &n); err != nil {
		t.Fatal(err)
	}
	doc, ok := cfnValue(&n).(map[string]any)
	if !ok {
		t.Fatalf("%s is not a mapping", path)
	}
	return template{doc: doc}
}

// cfnValue turns a YAML node into maps, slices and strings.
func cfnValue(n *yaml.Node) any {
	var v any
	switch n.Kind {
	case yaml.DocumentNode:
		return cfnValue(n.Content[0])
	case yaml.AliasNode:
		return cfnValue(n.Alias)
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = cfnValue(n.Content[i+1])
		}
		v = m
	case yaml.SequenceNode:
		s := []any{}
		for _, c := range n.Content {
			s = append(s, cfnValue(c))
		}
		v = s
	default:
		v = n.Value
	}
	if tag, ok := strings.CutPrefix(n.Tag, "!"); ok && !strings.HasPrefix(tag, "!") {
		if tag == "Ref" || tag == "Condition" {
			return map[string]any{tag: v}
		}
		return map[string]any{"Fn::" + tag: v}
	}
	return v
}

func (tp template) at(v any, keys ...string) any {
	for _, k := range keys {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v
}

func (tp template) get(t *testing.T, keys ...string) any {
	t.Helper()
	v := tp.at(tp.doc, keys...)
	if v == nil {
		t.Fatalf("template.yaml has no %s", strings.Join(keys, "."))
	}
	return v
}

// noValue is AWS::NoValue: the property it stands for is left out.
type noValue struct{}

var subVar = regexp.MustCompile(`\$\{([^}!]+)\}`)

// evaluator resolves the intrinsic functions a template's API settings use
// (Ref, Sub, If, Not, And, Equals, Condition) for the given parameter values;
// anything else fails the test.
func (tp template) evaluator(t *testing.T, params map[string]string) func(any) any {
	t.Helper()
	conditions, _ := tp.doc["Conditions"].(map[string]any)
	var eval func(v any) any
	ref := func(name string) any {
		if name == "AWS::NoValue" {
			return noValue{}
		}
		p, ok := params[name]
		if !ok {
			t.Fatalf("no value given for parameter %s", name)
		}
		return p
	}
	truth := func(v any) bool {
		b, ok := eval(v).(bool)
		if !ok {
			t.Fatalf("condition %v is not a boolean", v)
		}
		return b
	}
	eval = func(v any) any {
		switch v := v.(type) {
		case []any:
			out := []any{}
			for _, x := range v {
				if y := eval(x); y != (noValue{}) {
					out = append(out, y)
				}
			}
			return out
		case map[string]any:
			if len(v) == 1 {
				for fn, arg := range v {
					args, _ := arg.([]any)
					switch fn {
					case "Ref":
						return ref(arg.(string))
					case "Condition":
						return truth(conditions[arg.(string)])
					case "Fn::Sub":
						s, ok := arg.(string)
						if !ok {
							t.Fatalf("Fn::Sub with variables %v", arg)
						}
						return subVar.ReplaceAllStringFunc(s, func(m string) string { return fmt.Sprint(ref(m[2 : len(m)-1])) })
					case "Fn::If":
						if truth(map[string]any{"Condition": args[0]}) {
							return eval(args[1])
						}
						return eval(args[2])
					case "Fn::Not":
						return !truth(args[0])
					case "Fn::And":
						all := true
						for _, a := range args {
							all = truth(a) && all
						}
						return all
					case "Fn::Equals":
						return fmt.Sprint(eval(args[0])) == fmt.Sprint(eval(args[1]))
					}
					if strings.HasPrefix(fn, "Fn::") {
						t.Fatalf("intrinsic %s is not evaluated here", fn)
					}
				}
			}
			out := map[string]any{}
			for k, x := range v {
				if y := eval(x); y != (noValue{}) {
					out[k] = y
				}
			}
			return out
		}
		return v
	}
	return eval
}

// TestTemplateAuthorizerCache: API Gateway may serve a cached Allow for the
// authorizer cache TTL after the token's exp, so the default TTL stays a
// small part of the default access-token lifetime.
func TestTemplateAuthorizerCache(t *testing.T) {
	tpl := loadTemplate(t, "../../template.yaml")
	var ttl int
	if _, err := fmt.Sscan(fmt.Sprint(tpl.get(t, "Parameters", "AuthorizerCacheTTL", "Default")), &ttl); err != nil {
		t.Fatal(err)
	}
	access, err := time.ParseDuration(fmt.Sprint(tpl.get(t, "Parameters", "AccessTokenTTL", "Default")))
	if err != nil {
		t.Fatal(err)
	}
	if cache := time.Duration(ttl) * time.Second; cache > access/10 {
		t.Errorf("AuthorizerCacheTTL defaults to %s, more than a tenth of AccessTokenTTL (%s)", cache, access)
	}
	got := tpl.get(t, "Resources", "RotorApi", "Properties", "Auth", "Authorizers", "off", "Identity", "ReauthorizeEvery")
	if fmt.Sprint(got) != fmt.Sprint(map[string]any{"Ref": "AuthorizerCacheTTL"}) {
		t.Errorf("ReauthorizeEvery is %v; want !Ref AuthorizerCacheTTL", got)
	}
}
