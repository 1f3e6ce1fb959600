package token_test

import (
	"context"
	"testing"

	"github.com/rotor-auth/rotor/pkg/keys"
	"github.com/rotor-auth/rotor/pkg/token"
)

func benchIssue(b *testing.B, alg string) {
	src := keys.Static{Current: generate(b, alg)}
	iss := issuer(src)
	ctx := context.Background()
	subj := token.Subject{UserID: "user-42", Username: "ada", SessionID: "sess-7"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := iss.Issue(ctx, subj, now); err != nil {
			b.Fatal(err)
		}
	}
}

func benchVerify(b *testing.B, alg string) {
	src := keys.Static{Current: generate(b, alg)}
	ctx := context.Background()
	raw, err := issuer(src).Issue(ctx, token.Subject{UserID: "user-42", Username: "ada", SessionID: "sess-7"}, now)
	if err != nil {
		b.Fatal(err)
	}
	v := verifier(src, alg)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIssueES256(b *testing.B)  { benchIssue(b, "ES256") }
func BenchmarkVerifyES256(b *testing.B) { benchVerify(b, "ES256") }
func BenchmarkIssueRS256(b *testing.B)  { benchIssue(b, "RS256") }
func BenchmarkVerifyRS256(b *testing.B) { benchVerify(b, "RS256") }
func BenchmarkIssueEdDSA(b *testing.B)  { benchIssue(b, "EdDSA") }
func BenchmarkVerifyEdDSA(b *testing.B) { benchVerify(b, "EdDSA") }
