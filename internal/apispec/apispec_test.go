package apispec_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rotor-auth/rotor/internal/apispec"
)

// TestDocumentIsValid loads docs/openapi.yaml and checks a few answers the
// description must refuse, so a validator that accepts anything is caught.
func TestDocumentIsValid(t *testing.T) {
	ctx := context.Background()
	s, err := apispec.Load(ctx, apispec.Path())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.Doc.OpenAPI, "3.1") {
		t.Errorf("openapi = %q; want 3.1.x", s.Doc.OpenAPI)
	}
	json := http.Header{"Content-Type": []string{"application/json"}}
	tests := []struct {
		name, method, path string
		status             int
		body               string
		ok                 bool
	}{
		{"a token response", "POST", "/oauth/token", 200, `{"access_token":"a.b.c","token_type":"Bearer","expires_in":900,"refresh_token":"rtr_x","refresh_token_expires_in":10}`, true},
		{"token_type other than Bearer", "POST", "/oauth/token", 200, `{"access_token":"a.b.c","token_type":"mac","expires_in":900,"refresh_token":"rtr_x","refresh_token_expires_in":10}`, false},
		{"an error", "POST", "/oauth/token", 400, `{"error":"invalid_grant","error_description":"x"}`, true},
		{"an unknown error code", "POST", "/oauth/token", 400, `{"error":"oops","error_description":"x"}`, false},
		{"an undocumented status", "POST", "/oauth/token", 418, `{"error":"invalid_grant","error_description":"x"}`, false},
		{"an undocumented route", "GET", "/nowhere", 200, `{}`, false},
		{"the gateway's 401", "GET", "/me", 401, `{"error":"invalid_token","error_description":"x"}`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "http://127.0.0.1:1"+tc.path, nil)
			err := s.Check(ctx, req, tc.status, json, []byte(tc.body))
			if (err == nil) != tc.ok {
				t.Fatalf("Check = %v; want ok=%v", err, tc.ok)
			}
		})
	}
}
