package keys_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/rotor-auth/rotor/pkg/keys"
	"github.com/rotor-auth/rotor/pkg/token"
)

// The timing of the handover walks. The rotation period only has to exceed
// the activation delay plus the access-token lifetime: the old key signs
// until the new one activates, and its tokens must verify until they expire.
const (
	hoCacheTTL   = 5 * time.Minute
	hoJWKSMaxAge = 5 * time.Minute // Cache-Control of GET /.well-known/jwks.json
	hoDelay      = keys.DefaultActivationDelay
	hoAccessTTL  = 5 * time.Minute
	hoPeriod     = hoDelay + hoAccessTTL + 5*time.Minute
)

// handover is one walk of a fake clock through key rotations, with a signer
// and a verifier that each cache the keys on their own schedule, as two
// warm Lambda functions do.
type handover struct {
	name          string
	signerPhase   time.Duration // when the signer's cache first reads the secret, after the first key exists
	verifierPhase time.Duration // the same for the verifier's cache (which also serves the JWKS)
	step          time.Duration
	rotations     int // after the first key
}

// keysOnly hides Cache.Refresh: a verifier that cannot re-read on an unknown
// kid, like any verifier outside Rotor that caches the JWKS. The walks must
// pass without the refresh; it is a second line, not the handover.
type keysOnly struct{ src keys.Source }

func (k keysOnly) Keys(ctx context.Context) (keys.Set, error) { return k.src.Keys(ctx) }

// issued is a token the walk has minted.
type issued struct {
	raw, kid string
	at       time.Time
}

func kidOf(t *testing.T, raw string) string {
	t.Helper()
	tok, _, err := jwt.NewParser().ParseUnverified(raw, &token.Claims{})
	if err != nil {
		t.Fatalf("issued token does not parse: %v", err)
	}
	kid, _ := tok.Header["kid"].(string)
	return kid
}

// walkHandover creates the first key, then steps clk by h.step through
// h.rotations more rotations and on until the last old-key token expired.
// At every step it asserts that every token issued so far and not expired
// verifies on the verifier side without any re-read, and that a key signs
// its first token only when the verifier's JWKS has listed it for at least
// the JWKS max-age (so verifiers outside Rotor have it too).
func walkHandover(t *testing.T, h handover, clk *clock, api keys.SecretsAPI, secretID string, rotate func(id string)) {
	t.Helper()
	ctx := context.Background()
	fetch := func(ctx context.Context) (keys.Set, error) { return keys.Fetch(ctx, api, secretID) }
	start := clk.Now()
	rotate(versionID(1))

	signerKeys := &keys.Cache{Fetch: fetch, TTL: hoCacheTTL, Now: clk.Now}
	verifierKeys := &keys.Cache{Fetch: fetch, TTL: hoCacheTTL, Now: clk.Now}
	first, second := signerKeys, verifierKeys
	p1, p2 := h.signerPhase, h.verifierPhase
	if p2 < p1 {
		first, second, p1, p2 = second, first, p2, p1
	}
	clk.t = start.Add(p1)
	if _, err := first.Keys(ctx); err != nil {
		t.Fatalf("first read: %v", err)
	}
	clk.t = start.Add(p2)
	if _, err := second.Keys(ctx); err != nil {
		t.Fatalf("first read: %v", err)
	}

	iss := &token.Issuer{Keys: signerKeys, Issuer: "rotor", Audience: "api", TTL: hoAccessTTL}
	strict := &token.Verifier{Keys: keysOnly{verifierKeys}, Alg: "EdDSA", Issuer: "rotor", Audience: "api", Now: clk.Now}
	full := &token.Verifier{Keys: verifierKeys, Alg: "EdDSA", Issuer: "rotor", Audience: "api", Now: clk.Now}

	var rotateAt []time.Time
	for i := range h.rotations {
		rotateAt = append(rotateAt, start.Add(time.Duration(i+1)*hoPeriod))
	}
	end := start.Add(time.Duration(h.rotations)*hoPeriod + hoDelay + hoAccessTTL + hoCacheTTL)
	published := map[string]time.Time{} // kid -> first time the verifier's JWKS listed it
	var signers []string                // kids in the order they first signed
	var live []issued
	for now := clk.Now(); !now.After(end); clk.Advance(h.step) {
		now = clk.Now()
		if len(rotateAt) > 0 && !now.Before(rotateAt[0]) {
			rotate(versionID(h.rotations - len(rotateAt) + 2))
			rotateAt = rotateAt[1:]
		}
		set, err := verifierKeys.Keys(ctx)
		if err != nil {
			t.Fatalf("%v: verifier keys: %v", now.Sub(start), err)
		}
		for _, j := range set.JWKS().Keys {
			if _, ok := published[j.Kid]; !ok {
				published[j.Kid] = now
			}
		}

		raw, err := iss.Issue(ctx, token.Subject{UserID: "u", SessionID: "s"}, now)
		if err != nil {
			t.Fatalf("%v: Issue: %v", now.Sub(start), err)
		}
		kid := kidOf(t, raw)
		if !slices.Contains(signers, kid) {
			p, ok := published[kid]
			switch {
			case !ok:
				t.Fatalf("%v: first token signed with %s, which the verifier's JWKS does not list", now.Sub(start), kid)
			case len(signers) > 0 && now.Sub(p) < hoJWKSMaxAge:
				t.Fatalf("%v: first token signed with %s only %v after the verifier's JWKS listed it; a JWKS cached over HTTP lacks it for up to %v",
					now.Sub(start), kid, now.Sub(p), hoJWKSMaxAge)
			}
			signers = append(signers, kid)
		}
		live = append(live, issued{raw: raw, kid: kid, at: now.Truncate(time.Second)})
		live = slices.DeleteFunc(live, func(tok issued) bool { return !now.Before(tok.at.Add(hoAccessTTL)) })
		for _, tok := range live {
			if _, err := strict.Verify(ctx, tok.raw); err != nil {
				t.Fatalf("%v: token issued at %v with %s does not verify: %v", now.Sub(start), tok.at.Sub(start), tok.kid, err)
			}
		}
		// After the strict check: a refresh would move the verifier's cache.
		if _, err := full.Verify(ctx, raw); err != nil {
			t.Fatalf("%v: a token just issued with %s: %v", now.Sub(start), kid, err)
		}
	}
	if len(signers) != h.rotations+1 {
		t.Fatalf("keys that signed, in order: %v; want each of the %d keys in turn", signers, h.rotations+1)
	}
}

// TestHandover steps through rotations in small steps with the signer's and
// the verifier's caches out of phase both ways: at no instant does a token
// fail to verify, and every new key is in the JWKS before it signs. Signing
// with a new key as soon as it is current makes this fail.
func TestHandover(t *testing.T) {
	tests := []handover{
		{name: "verifier reads 4m after the signer", signerPhase: 0, verifierPhase: 4 * time.Minute, step: 10 * time.Second, rotations: 2},
		{name: "signer reads 3m after the verifier", signerPhase: 3 * time.Minute, verifierPhase: 0, step: 10 * time.Second, rotations: 2},
		{name: "same phase", signerPhase: 0, verifierPhase: 0, step: 13 * time.Second, rotations: 2},
		{name: "ragged steps, 1s apart", signerPhase: 0, verifierPhase: time.Second, step: 11 * time.Second, rotations: 1},
	}
	for _, h := range tests {
		t.Run(h.name, func(t *testing.T) {
			svc := newFakeSecrets("placeholder")
			clk := &clock{t: epoch}
			r := &keys.Rotator{Secrets: svc, Alg: "EdDSA", ActivationDelay: hoDelay, Now: clk.Now, Log: quiet}
			walkHandover(t, h, clk, svc, "fake", func(id string) { svc.rotate(t, r, id) })
		})
	}
}

// TestHandoverMoto is TestHandover against moto's Secrets Manager.
func TestHandoverMoto(t *testing.T) {
	svc, name, _ := newSecret(t)
	clk := &clock{t: epoch}
	r := &keys.Rotator{Secrets: svc, Alg: "EdDSA", ActivationDelay: hoDelay, Now: clk.Now, Log: quiet}
	h := handover{name: "moto", signerPhase: 0, verifierPhase: 4 * time.Minute, step: 20 * time.Second, rotations: 2}
	walkHandover(t, h, clk, svc, name, func(id string) { rotate(t, svc, r, name, id) })
}
