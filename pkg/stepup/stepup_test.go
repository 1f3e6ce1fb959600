package stepup_test

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rotor-auth/rotor/pkg/stepup"
)

func TestParse(t *testing.T) {
	good := []struct {
		in   string
		want stepup.Routes
	}{
		{"", nil},
		{"  ", nil},
		{"POST /payments/*, DELETE /account", stepup.Routes{{"POST", "/payments/*"}, {"DELETE", "/account"}}},
		{"ANY /admin/*", stepup.Routes{{"*", "/admin/*"}}},
		{"* /x,GET /jobs/42:cancel", stepup.Routes{{"*", "/x"}, {"GET", "/jobs/42:cancel"}}},
		{"GET /" + strings.Repeat("a", 511), stepup.Routes{{"GET", "/" + strings.Repeat("a", 511)}}}, // 512 bytes: the longest
	}
	for _, tc := range good {
		t.Run(tc.in, func(t *testing.T) {
			got, err := stepup.Parse(tc.in)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("Parse(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
	fifty := strings.TrimSuffix(strings.Repeat("GET /a,", 50), ",")
	if rs, err := stepup.Parse(fifty); err != nil || len(rs) != 50 {
		t.Errorf("50 patterns: %d, %v; want all (the most allowed)", len(rs), err)
	}
	for _, in := range []string{
		"/payments", "post /payments", "FETCH /x", "POST payments", "POST /a?b", "POST /a#b",
		"POST /a b", "POST /a\x00", "POST /a\x7f", "POST /é", "POST /a,", ",", "GET /x,,GET /y",
		"GET /" + strings.Repeat("a", 512), strings.Repeat("GET /a,", 51) + "GET /a",
	} {
		t.Run("refused "+in[:min(len(in), 30)], func(t *testing.T) {
			if got, err := stepup.Parse(in); !errors.Is(err, stepup.ErrPattern) {
				t.Fatalf("Parse(%q) = %v, %v; want ErrPattern", in, got, err)
			}
		})
	}
}

func TestRequires(t *testing.T) {
	rs, err := stepup.Parse("POST /payments/*, DELETE /account, * /admin/*/keys")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, path string
		want         bool
	}{
		{"POST", "/payments/1", true},
		{"POST", "/payments/1/refund", true}, // * crosses "/", as in IAM
		{"POST", "/payments/", true},
		{"POST", "/payments", false},
		{"GET", "/payments/1", false},
		{"DELETE", "/account", true},
		{"DELETE", "/account/", false},
		{"DELETE", "/accounts", false},
		{"delete", "/account", false},
		{"PATCH", "/admin/eu/keys", true},
		{"GET", "/admin/eu/west/keys", true},
		{"GET", "/admin/keys", false},
		{"GET", "/me", false},
	}
	for _, tc := range tests {
		if got := rs.Requires(tc.method, tc.path); got != tc.want {
			t.Errorf("Requires(%s %s) = %v; want %v", tc.method, tc.path, got, tc.want)
		}
	}
	// The matcher's corners: a star matching nothing, no star to fall back
	// on after a partial match.
	for _, tc := range []struct {
		pattern, path string
		want          bool
	}{
		{"/*b", "/b", true}, {"/a*", "/a", true}, {"/a*c", "/abbc", true},
		{"/ab", "/aab", false}, {"/ab", "/abb", false}, {"/a*c", "/abcd", false},
	} {
		if got := (stepup.Routes{{"GET", tc.pattern}}).Requires("GET", tc.path); got != tc.want {
			t.Errorf("%s matches %s: %v; want %v", tc.pattern, tc.path, got, tc.want)
		}
	}
	if stepup.Routes(nil).Requires("POST", "/payments/1") {
		t.Error("no routes requires something")
	}
}

func TestResources(t *testing.T) {
	rs, _ := stepup.Parse("POST /payments/*, ANY /account")
	got := rs.Resources("arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/")
	want := []string{"arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/POST/payments/*", "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/*/account"}
	if !slices.Equal(got, want) {
		t.Fatalf("Resources = %q; want %q", got, want)
	}
}

func TestSatisfied(t *testing.T) {
	for _, tc := range []struct {
		amr  []string
		want bool
	}{{nil, false}, {[]string{"pwd"}, false}, {[]string{"pwd", "otp"}, false}, {[]string{"pwd", "otp", "mfa"}, true}, {[]string{"MFA"}, false}} {
		if got := stepup.Satisfied(tc.amr); got != tc.want {
			t.Errorf("Satisfied(%q) = %v; want %v", tc.amr, got, tc.want)
		}
	}
}

// FuzzParse: any configuration string parses or is refused, never panics;
// what parses prints back to the same routes, and matching agrees with a
// regular expression built the way IAM reads the pattern ("*" is ".*").
func FuzzParse(f *testing.F) {
	f.Add("POST /payments/*, DELETE /account", "POST", "/payments/1/refund")
	f.Add("* /a*b*c", "GET", "/aXbYbc")
	f.Add("GET /**", "GET", "/")
	f.Add("GET /a*a*a*a*b", "GET", "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
	f.Fuzz(func(t *testing.T, conf, method, path string) {
		rs, err := stepup.Parse(conf)
		if err != nil {
			if !errors.Is(err, stepup.ErrPattern) {
				t.Fatalf("Parse(%q): %v, not ErrPattern", conf, err)
			}
			return
		}
		again, err := stepup.Parse(rs.String())
		if err != nil || !slices.Equal(again, rs) {
			t.Fatalf("Parse(%q) = %v; reparsed from %q: %v, %v", conf, rs, rs.String(), again, err)
		}
		want := false
		for _, r := range rs {
			re := regexp.MustCompile("(?s)^" + strings.ReplaceAll(regexp.QuoteMeta(r.Path), `\*`, ".*") + "$")
			if (r.Method == "*" || r.Method == method) && re.MatchString(path) {
				want = true
			}
		}
		if got := rs.Requires(method, path); got != want {
			t.Fatalf("%v.Requires(%q, %q) = %v; the IAM reading says %v", rs, method, path, got, want)
		}
	})
}
