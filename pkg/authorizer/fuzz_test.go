package authorizer_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/rotor-auth/rotor/pkg/authorizer"
	"github.com/rotor-auth/rotor/pkg/dpop"
)

// FuzzInvoke: any event JSON (REST TOKEN, REST REQUEST, HTTP API v2 or none
// of them) is either refused with an error or allowed for the one identity
// whose token the seeds carry: no input makes up an identity or panics.
func FuzzInvoke(f *testing.F) {
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
		out, err := a.Invoke(context.Background(), raw)
		if errors.Is(err, authorizer.ErrUnauthorized) {
			return
		}
		if err != nil {
			// Only a malformed event, which API Gateway never sends, fails
			// otherwise: the key set is static and no session is checked.
			return
		}
		resp, err := handle(t, a, raw)
		if err != nil {
			t.Fatalf("Invoke allowed once (%s) and refused once: %v", out, err)
		}
		switch r := resp.(type) {
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
			t.Fatalf("Invoke returned %T", resp)
		}
	})
}

// FuzzInvokeDPoP: any event, with any Authorization and DPoP headers, to an
// authorizer that requires DPoP: refused, or allowed for the one identity
// whose bound token the seeds carry; and an event allowed once is refused
// the second time (its proof's jti is spent), whatever the bytes around it.
func FuzzInvokeDPoP(f *testing.F) {
	fx := newFixture(f)
	h := fx.holder(f)
	for _, s := range dpopShapes {
		p := proof(f, h.key, s.method, s.url, h.access, now)
		f.Add([]byte(s.event(f, "DPoP "+h.access, p)))
		f.Add([]byte(s.event(f, "Bearer "+h.access, p)))
		f.Add([]byte(s.event(f, "DPoP "+h.access, p, p)))
		f.Add([]byte(s.event(f, "DPoP "+h.access)))
		f.Add([]byte(s.event(f, "Bearer "+fx.token(f, now))))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		a := fx.dpopAuthorizer(&dpop.Memory{}, nil)
		a.RequireDPoP = true
		out, err := a.Invoke(context.Background(), raw)
		if err != nil {
			return
		}
		var r struct {
			Context map[string]any `json:"context"`
		}
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatalf("answer %s: %v", out, err)
		}
		if r.Context["user_id"] != subject.UserID || r.Context["session_id"] != subject.SessionID {
			t.Fatalf("allowed %s", out)
		}
		if again, err := a.Invoke(context.Background(), raw); err == nil {
			t.Fatalf("the same event was allowed twice: %s", again)
		}
	})
}
