package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/rotor-auth/rotor/pkg/store/memory"
)

// keyLimited refuses session keys the way DynamoDB refuses keys over 2048
// bytes: an internal error, were such an id ever to reach it.
type keyLimited struct{ *memory.Store }

func (k keyLimited) DeleteSession(ctx context.Context, id, userID string) error {
	if len(id) != 22 {
		return errors.New("dynamo: ValidationException: key too long or malformed")
	}
	return k.Store.DeleteSession(ctx, id, userID)
}

// TestSessionIDValidated: DELETE /auth/sessions/{id} answers 404 for an id
// that is not a session id's one spelling, before the store sees it, and
// for a well-formed id of no session of the (live) caller's.
func TestSessionIDValidated(t *testing.T) {
	api := newAPI(t, keyLimited{memory.New()})
	signUp(t, api)
	u := logIn(t, api)
	tests := []struct {
		name, id string
		want     int
	}{
		{"well formed, unknown", "AAAAAAAAAAAAAAAAAAAAAA", http.StatusNotFound},
		{"longer than DynamoDB's key limit", strings.Repeat("A", 4096), http.StatusNotFound},
		{"one character short", "AAAAAAAAAAAAAAAAAAAAA", http.StatusNotFound},
		{"standard base64 alphabet", "AAAAAAAAAAAAAAAAAAAA+/", http.StatusNotFound},
		{"non-canonical trailing bits", "AAAAAAAAAAAAAAAAAAAAAB", http.StatusNotFound},
		{"padding", "AAAAAAAAAAAAAAAAAAAA==", http.StatusNotFound},
		{"newline inside", "AAAAAAAAAAAAAAAAAAAA\nA", http.StatusNotFound},
		{"empty", "", http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := event(t, "/auth/sessions/x", "")
			req.HTTPMethod = http.MethodDelete
			req.PathParameters = map[string]string{"id": tc.id}
			req.RequestContext.Authorizer = u.context
			resp, err := api.Sessions(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.want || !strings.Contains(resp.Body, `"error":"not_found"`) {
				t.Errorf("DELETE /auth/sessions/%.30q: %d %s; want %d not_found", tc.id, resp.StatusCode, resp.Body, tc.want)
			}
		})
	}
}
