package stepup

import (
	"errors"
	"fmt"
	"strings"
)

// Method is the authentication method (RFC 8176) a route of Routes needs in
// the access token's amr claim: "mfa", which a login with a second factor
// adds.
const Method = "mfa"

// ErrPattern means a route pattern cannot be used.
var ErrPattern = errors.New("stepup: bad route pattern")

// Route is one pattern: an HTTP method (or "*", any method) and a path in
// which each "*" stands for any run of characters, "/" included, as in an
// IAM resource ARN ("/payments/*" covers "/payments/1/refund", not
// "/payments").
type Route struct {
	Method string
	Path   string
}

// Routes are the routes that need a multi-factor login; none by default.
type Routes []Route

// maxRoutes bounds the patterns: each becomes a Resource of the Deny
// statement, and an authorizer's policy must stay small (API Gateway caches
// it per token).
const maxRoutes = 50

// methods are the methods a pattern may name: API Gateway's, and "*".
var methods = map[string]bool{"*": true, "GET": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "HEAD": true, "OPTIONS": true}

// Parse reads ROTOR_MFA_ROUTES: comma-separated "METHOD /path" patterns,
// e.g. "POST /payments/*, DELETE /account". ANY is "*". An empty string is
// no route. A path is "/" and then printable ASCII other than space, "?",
// "#" and ","; "?" is refused because IAM would read it as a wildcard.
func Parse(s string) (Routes, error) {
	var out Routes
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	for _, part := range strings.Split(s, ",") {
		method, path, ok := strings.Cut(strings.TrimSpace(part), " ")
		path = strings.TrimSpace(path)
		if method == "ANY" {
			method = "*"
		}
		switch {
		case !ok:
			return nil, fmt.Errorf("%w: %q: want \"METHOD /path\"", ErrPattern, strings.TrimSpace(part))
		case !methods[method]:
			return nil, fmt.Errorf("%w: %q: method %q is none of GET POST PUT PATCH DELETE HEAD OPTIONS ANY *", ErrPattern, part, method)
		case !validPath(path):
			return nil, fmt.Errorf("%w: %q: path must start with / and hold no space, ?, # or control", ErrPattern, part)
		}
		out = append(out, Route{Method: method, Path: path})
	}
	if len(out) > maxRoutes {
		return nil, fmt.Errorf("%w: %d patterns, at most %d", ErrPattern, len(out), maxRoutes)
	}
	return out, nil
}

func validPath(p string) bool {
	if len(p) == 0 || p[0] != '/' || len(p) > 512 {
		return false
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= ' ' || c >= 0x7f || c == '?' || c == '#' || c == ',' {
			return false
		}
	}
	return true
}

// String is the patterns as Parse reads them.
func (rs Routes) String() string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.Method + " " + r.Path
	}
	return strings.Join(parts, ",")
}

// Requires reports whether a request with method and path (the path
// without the stage, as API Gateway's resource ARN has it) needs a
// multi-factor login.
func (rs Routes) Requires(method, path string) bool {
	for _, r := range rs {
		if (r.Method == "*" || r.Method == method) && match(r.Path, path) {
			return true
		}
	}
	return false
}

// Satisfied reports whether a token's amr claim carries what Routes need.
func Satisfied(amr []string) bool {
	for _, m := range amr {
		if m == Method {
			return true
		}
	}
	return false
}

// Resources returns the execute-api resource ARNs of the routes under
// stagePrefix ("arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/"), for the
// Deny statement of an authorizer's policy: IAM reads "*" in them as
// Requires does.
func (rs Routes) Resources(stagePrefix string) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = stagePrefix + r.Method + r.Path
	}
	return out
}

// match reports whether s matches pattern, where "*" is any run of bytes
// ("/" included) and every other byte stands for itself: IAM's ARN
// matching, without "?" (Parse refuses it). Greedy with backtracking to the
// last star: linear in practice, O(len(pattern)·len(s)) at worst.
func match(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && pattern[p] == s[i]:
			p++
			i++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
