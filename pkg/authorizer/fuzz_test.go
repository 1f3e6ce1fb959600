package authorizer_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/rotor-auth/rotor/pkg/authorizer"
)

// FuzzHandle: any event JSON (REST TOKEN, REST REQUEST, HTTP API v2 or none
// of them) is either refused with an error or allowed for the one identity
// whose token the seeds carry: no input makes up an identity or panics.
func FuzzHandle(f *testing.F) {
	fx := newFixture(f)
	a := fx.authorizer(fx.src, nil)
	good := "Bearer " + fx.token(f, now)
	for _, s := range shapes {
		f.Add([]byte(s.event(f, good)))
		f.Add([]byte(s.event(f, "Bearer x")))
		f.Add([]byte(s.eventWithout(f)))
	}
	for _, s := range []string{`{}`, `null`, `{"type":"TOKEN"}`, `{"version":"2.0","headers":null}`, `{"type":"REQUEST","headers":{"Authorization":1}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		out, err := a.Handle(context.Background(), json.RawMessage(raw))
		if errors.Is(err, authorizer.ErrUnauthorized) {
			return
		}
		if err != nil {
			// Only a malformed event, which API Gateway never sends, fails
			// otherwise: the key set is static and no session is checked.
			return
		}
		switch r := out.(type) {
		case events.APIGatewayCustomAuthorizerResponse:
			if r.PrincipalID != subject.UserID || r.PolicyDocument.Statement[0].Effect != "Allow" {
				t.Fatalf("allowed %+v", r)
			}
			if r.Context["session_id"] != subject.SessionID {
				t.Fatalf("allowed with context %v", r.Context)
			}
		case events.APIGatewayV2CustomAuthorizerSimpleResponse:
			if !r.IsAuthorized || r.Context["user_id"] != subject.UserID || r.Context["session_id"] != subject.SessionID {
				t.Fatalf("allowed %+v", r)
			}
		default:
			t.Fatalf("Handle returned %T", out)
		}
	})
}
