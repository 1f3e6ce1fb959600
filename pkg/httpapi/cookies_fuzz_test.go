package httpapi

import (
	"errors"
	"testing"

	"github.com/rotor-auth/rotor/pkg/apierr"
)

// FuzzFromCookies: any Cookie and X-CSRF-Token headers either give a refresh
// token and the CSRF token the header carried, or a 403 csrf_failed or 401
// invalid_grant; never a panic.
func FuzzFromCookies(f *testing.F) {
	for _, s := range [][2]string{
		{"rotor_refresh=rtr_abc; rotor_csrf=c1", "c1"},
		{"rotor_refresh=rtr_abc; rotor_csrf=c1", "c2"},
		{"rotor_csrf=c1", "c1"},
		{`rotor_refresh="rtr_abc"; rotor_csrf="c1"`, "c1"},
		{"rotor_refresh=a;rotor_refresh=b; rotor_csrf=c", "c"},
		{";;=;", ""},
	} {
		f.Add(s[0], s[1], false)
		f.Add(s[0], s[1], true)
	}
	f.Fuzz(func(t *testing.T, cookie, csrfHeader string, multi bool) {
		req := Request{Headers: map[string]string{CSRFHeader: csrfHeader}}
		if multi {
			req.MultiValueHeaders = map[string][]string{"cookie": {cookie, cookie}}
		} else {
			req.Headers["Cookie"] = cookie
		}
		refresh, csrf, err := fromCookies(req)
		if err != nil {
			var e *apierr.Error
			if !errors.As(err, &e) || (e.Code != "csrf_failed" && e.Code != "invalid_grant") {
				t.Fatalf("fromCookies: %v", err)
			}
			return
		}
		if refresh == "" || csrf == "" || csrf != csrfHeader {
			t.Fatalf("fromCookies(%q, %q) = %q, %q", cookie, csrfHeader, refresh, csrf)
		}
	})
}
