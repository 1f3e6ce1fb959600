package lambda_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// The events start from AWS's published samples (aws-lambda-go
// events/testdata, copied into testdata/) and change only what a request to
// Rotor changes: method, path, headers, body and the authorizer context.

const apiArn = "arn:aws:execute-api:us-east-1:123456789012:ymy8tbxw7b"

func loadSample(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// request describes one call through API Gateway's REST proxy integration.
type request struct {
	method, path, resource string
	body                   string
	headers                map[string]string
	pathParams             map[string]string
	authorizer             map[string]any // the authorizer's context, as API Gateway passes it
}

func restEvent(t *testing.T, r request) events.APIGatewayProxyRequest {
	t.Helper()
	var e events.APIGatewayProxyRequest
	loadSample(t, "apigw-request.json", &e)
	if r.resource == "" {
		r.resource = r.path
	}
	e.HTTPMethod, e.Path, e.Resource = r.method, r.path, r.resource
	e.Body, e.IsBase64Encoded = r.body, false
	e.Headers = map[string]string{
		"Accept":          "application/json",
		"Content-Type":    "application/json",
		"Host":            "ymy8tbxw7b.execute-api.us-east-1.amazonaws.com",
		"User-Agent":      "rotor-lambda-test/1.0",
		"X-Forwarded-For": "203.0.113.7",
	}
	for k, v := range r.headers {
		e.Headers[k] = v
	}
	e.MultiValueHeaders = map[string][]string{}
	for k, v := range e.Headers {
		e.MultiValueHeaders[k] = []string{v}
	}
	e.QueryStringParameters, e.MultiValueQueryStringParameters = nil, nil
	e.PathParameters = r.pathParams
	e.StageVariables = nil
	e.RequestContext.Stage = "v1"
	e.RequestContext.APIID = "ymy8tbxw7b"
	// The gateway's own name for the host the client called: what a DPoP
	// proof's htu is checked against (pkg/httpapi RequestURL), never the
	// client's Host header.
	e.RequestContext.DomainName = "ymy8tbxw7b.execute-api.us-east-1.amazonaws.com"
	e.RequestContext.HTTPMethod = r.method
	e.RequestContext.ResourcePath = r.resource
	e.RequestContext.Path = "/v1" + r.path
	e.RequestContext.Identity.SourceIP = "203.0.113.7"
	e.RequestContext.Identity.UserAgent = "rotor-lambda-test/1.0"
	e.RequestContext.Authorizer = r.authorizer
	return e
}

// response is an API Gateway proxy response with its JSON body decoded.
type response struct {
	events.APIGatewayProxyResponse
	json map[string]any
}

func (r response) str(key string) string {
	s, _ := r.json[key].(string)
	return s
}

func call(t *testing.T, id string, r request) response {
	t.Helper()
	return callOn(t, requireEnv(t).start(t, id), r)
}

// callOn sends one request to a running function (e.g. one started with
// its own variables by startEnv).
func callOn(t *testing.T, f *function, r request) response {
	t.Helper()
	raw, ierr := f.invoke(t, restEvent(t, r))
	if ierr != nil {
		t.Fatalf("%s %s %s: handler error %q (%s); a route must answer with a status code\n%s", f.id, r.method, r.path, ierr.Message, ierr.Type, f.log.String())
	}
	var out response
	if err := json.Unmarshal(raw, &out.APIGatewayProxyResponse); err != nil {
		t.Fatalf("%s: not a proxy response: %v: %s", f.id, err, raw)
	}
	if strings.TrimSpace(out.Body) != "" {
		if err := json.Unmarshal([]byte(out.Body), &out.json); err != nil {
			t.Fatalf("%s %s %s: body is not JSON: %v: %q", f.id, r.method, r.path, err, out.Body)
		}
	}
	return out
}

func expectStatus(t *testing.T, what string, r response, want int) {
	t.Helper()
	if r.StatusCode != want {
		t.Fatalf("%s: status %d, want %d; body %s", what, r.StatusCode, want, r.Body)
	}
}

func expectError(t *testing.T, what string, r response, status int, code string) {
	t.Helper()
	expectStatus(t, what, r, status)
	if got := r.str("error"); got != code {
		t.Fatalf("%s: error %q, want %q; body %s", what, got, code, r.Body)
	}
	if r.str("error_description") == "" {
		t.Fatalf("%s: no error_description; body %s", what, r.Body)
	}
}

func header(r response, name string) string {
	for k, v := range r.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	for k, v := range r.MultiValueHeaders {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// policy is an authorizer's IAM policy answer. Action and Resource may be a
// string or a list (both are valid IAM).
type policy struct {
	PrincipalID    string `json:"principalId"`
	PolicyDocument struct {
		Version   string `json:"Version"`
		Statement []struct {
			Action   stringList `json:"Action"`
			Effect   string     `json:"Effect"`
			Resource stringList `json:"Resource"`
		} `json:"Statement"`
	} `json:"policyDocument"`
	Context map[string]any `json:"context"`
}

type stringList []string

func (s *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*s = []string{one}
		return nil
	}
	var many []string
	err := json.Unmarshal(b, &many)
	*s = many
	return err
}

// allows reports whether the policy allows execute-api:Invoke on methodArn,
// evaluated as IAM does: an explicit Deny wins, wildcards span "/".
func (p policy) allows(methodArn string) bool {
	allowed := false
	for _, st := range p.PolicyDocument.Statement {
		if !matchAny(st.Action, "execute-api:Invoke") || !matchAny(st.Resource, methodArn) {
			continue
		}
		if strings.EqualFold(st.Effect, "Deny") {
			return false
		}
		if strings.EqualFold(st.Effect, "Allow") {
			allowed = true
		}
	}
	return allowed
}

func matchAny(patterns []string, s string) bool {
	for _, p := range patterns {
		re := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(p)) + "$"
		if regexp.MustCompile(re).MatchString(s) {
			return true
		}
	}
	return false
}

func tokenAuthorizerEvent(t *testing.T, token, methodArn string) events.APIGatewayCustomAuthorizerRequest {
	t.Helper()
	var e events.APIGatewayCustomAuthorizerRequest
	loadSample(t, "apigw-custom-auth-request.json", &e)
	e.AuthorizationToken = token
	e.MethodArn = methodArn
	return e
}

func requestAuthorizerEvent(t *testing.T, authorization, methodArn string) events.APIGatewayCustomAuthorizerRequestTypeRequest {
	t.Helper()
	var e events.APIGatewayCustomAuthorizerRequestTypeRequest
	loadSample(t, "apigw-custom-auth-request-type-request.json", &e)
	e.MethodArn = methodArn
	e.Resource, e.Path, e.HTTPMethod = "/me", "/me", "GET"
	e.RequestContext.ResourcePath, e.RequestContext.HTTPMethod, e.RequestContext.Path = "/me", "GET", "/v1/me"
	delete(e.Headers, "HeaderAuth1")
	delete(e.MultiValueHeaders, "HeaderAuth1")
	e.Headers["Authorization"] = authorization
	e.MultiValueHeaders["Authorization"] = []string{authorization}
	e.QueryStringParameters, e.MultiValueQueryStringParameters = nil, nil
	return e
}

func httpAPIAuthorizerEvent(t *testing.T, authorization string) events.APIGatewayV2CustomAuthorizerV2Request {
	t.Helper()
	var e events.APIGatewayV2CustomAuthorizerV2Request
	loadSample(t, "apigw-v2-custom-authorizer-v2-request.json", &e)
	e.RouteArn = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/$default/GET/orders"
	e.RouteKey, e.RawPath, e.RawQueryString = "GET /orders", "/orders", ""
	e.Cookies, e.QueryStringParameters, e.PathParameters = nil, nil, nil
	// HTTP APIs lower-case header names.
	e.Headers = map[string]string{"authorization": authorization, "user-agent": "rotor-lambda-test/1.0"}
	e.IdentitySource = []string{authorization}
	e.RequestContext.HTTP.Method, e.RequestContext.HTTP.Path = "GET", "/orders"
	e.RequestContext.RouteKey = "GET /orders"
	return e
}
