package keys_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/keys"
	"github.com/rotor-auth/rotor/pkg/token"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.Stop()
	os.Exit(code)
}

// secretsService is moto's Secrets Manager plus the one thing moto cannot do
// for a rotation function it does not run: RotateSecret on AWS labels a new
// version id AWSPENDING (before the version has any value), invokes the
// function's four steps with that id, and removes AWSPENDING once
// finishSecret succeeded. moto's RotateSecret without a Lambda ARN instead
// makes the new, empty version AWSCURRENT itself, and with one it must run the
// Lambda. So the test plays that part and everything else is moto's.
type secretsService struct {
	*secretsmanager.Client
	pending string
}

func (s *secretsService) DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error) {
	out, err := s.Client.DescribeSecret(ctx, in, opts...)
	if err != nil || s.pending == "" {
		return out, err
	}
	if out.VersionIdsToStages == nil {
		out.VersionIdsToStages = map[string][]string{}
	}
	if _, ok := out.VersionIdsToStages[s.pending]; !ok {
		out.VersionIdsToStages[s.pending] = []string{"AWSPENDING"}
	}
	return out, nil
}

var quiet = slog.New(slog.DiscardHandler)

var steps = []string{"createSecret", "setSecret", "testSecret", "finishSecret"}

// rotate runs one whole rotation to version id, as Secrets Manager would.
// Every step runs twice: Lambda retries a step whose answer was lost.
func rotate(t *testing.T, svc *secretsService, r *keys.Rotator, secretID, id string) {
	t.Helper()
	ctx := testenv.Context(t)
	svc.pending = id
	for _, step := range steps {
		for attempt := range 2 {
			if err := r.Handle(ctx, keys.RotationEvent{Step: step, SecretID: secretID, ClientRequestToken: id}); err != nil {
				t.Fatalf("rotation to %s: %s (attempt %d): %v", id, step, attempt+1, err)
			}
		}
	}
	svc.pending = ""
	if _, err := svc.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{
		SecretId: aws.String(secretID), VersionStage: aws.String("AWSPENDING"), RemoveFromVersionId: aws.String(id),
	}); err != nil {
		t.Fatalf("clear AWSPENDING: %v", err)
	}
	stages := versionStages(t, svc, secretID)
	if !slices.Contains(stages[id], "AWSCURRENT") {
		t.Fatalf("after rotating to %s the versions are %v", id, stages)
	}
}

func versionStages(t *testing.T, svc *secretsService, secretID string) map[string][]string {
	t.Helper()
	out, err := svc.Client.DescribeSecret(testenv.Context(t), &secretsmanager.DescribeSecretInput{SecretId: aws.String(secretID)})
	if err != nil {
		t.Fatal(err)
	}
	return out.VersionIdsToStages
}

func valueAt(t *testing.T, svc *secretsService, secretID, stage string) string {
	t.Helper()
	out, err := svc.GetSecretValue(testenv.Context(t), &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID), VersionStage: aws.String(stage)})
	if err != nil {
		t.Fatalf("read %s: %v", stage, err)
	}
	return aws.ToString(out.SecretString)
}

// newSecret creates a signing-key secret as a fresh `sam deploy` does: with
// a generated placeholder value, no key yet.
func newSecret(t *testing.T) (*secretsService, string, string) {
	t.Helper()
	svc := &secretsService{Client: testenv.SecretsManager(t)}
	name := testenv.Name(t, "secret")
	const placeholder = "Zq8#vL2!pX9kR0tW5yBn3mC7"
	if _, err := svc.CreateSecret(testenv.Context(t), &secretsmanager.CreateSecretInput{
		Name: aws.String(name), SecretString: aws.String(placeholder),
	}); err != nil {
		t.Fatalf("CreateSecret: %v", err)
	}
	return svc, name, placeholder
}

func versionID(n int) string { return "00000000-0000-4000-8000-00000000000" + string(rune('0'+n)) }

// TestRotationLifecycle follows a signing key through its life on Secrets
// Manager: created by the first rotation of a placeholder secret (signing at
// once: there is no key to hand over from), published but not yet signing
// right after the next rotation, signing from its sign_after, still verifying
// while previous, and gone after the rotation after that. A key stays in
// the set for two rotation periods and in a cache a key cache TTL longer.
func TestRotationLifecycle(t *testing.T) {
	ctx := testenv.Context(t)
	svc, name, placeholder := newSecret(t)
	clk := &clock{t: epoch}
	const (
		cacheTTL = 5 * time.Minute
		delay    = 15 * time.Minute
		// Long enough that the first token outlives its key: the test
		// shows where verification of a rotated-out key ends.
		accessTTL = 2 * time.Hour
	)
	r := &keys.Rotator{Secrets: svc, Alg: "ES256", ActivationDelay: delay, Now: clk.Now, Log: quiet}

	fetch := func(ctx context.Context) (keys.Set, error) { return keys.Fetch(ctx, svc, name) }
	if _, err := fetch(ctx); !errors.Is(err, keys.ErrNoKey) {
		t.Fatalf("Fetch before the first rotation = %v; want ErrNoKey", err)
	}

	cache := &keys.Cache{Fetch: fetch, TTL: cacheTTL, Now: clk.Now}
	iss := &token.Issuer{Keys: cache, Issuer: "rotor", Audience: "api", TTL: accessTTL}
	// keysOnly: no re-read on an unknown kid, so the cache TTL alone decides.
	ver := &token.Verifier{Keys: keysOnly{cache}, Alg: "ES256", Issuer: "rotor", Audience: "api", Leeway: 30 * time.Second, Now: clk.Now}
	if _, err := cache.Keys(ctx); !errors.Is(err, keys.ErrNoKey) {
		t.Fatalf("Cache before the first rotation = %v; want ErrNoKey (fail closed)", err)
	}
	issue := func(wantKid string) string {
		t.Helper()
		raw, err := iss.Issue(ctx, token.Subject{UserID: "user-1", SessionID: "sess-1"}, clk.Now())
		if err != nil {
			t.Fatalf("Issue: %v", err)
		}
		if kid := kidOf(t, raw); kid != wantKid {
			t.Fatalf("token signed with %s; want %s", kid, wantKid)
		}
		return raw
	}
	verify := func(raw string) error {
		_, err := ver.Verify(ctx, raw)
		return err
	}

	// First rotation: the placeholder becomes AWSPREVIOUS and is ignored,
	// and the first key signs at once.
	rotate(t, svc, r, name, versionID(1))
	set1, err := fetch(ctx)
	if err != nil {
		t.Fatalf("Fetch after the first rotation: %v", err)
	}
	if set1.Previous != nil {
		t.Errorf("Previous = %q; the placeholder must be ignored", set1.Previous.ID)
	}
	if got := valueAt(t, svc, name, "AWSPREVIOUS"); got != placeholder {
		t.Fatalf("AWSPREVIOUS = %q; want the placeholder (so the test covers ignoring it)", got)
	}
	k1 := set1.Current
	if !k1.SignAfter.Equal(k1.CreatedAt) || !k1.CreatedAt.Equal(epoch) {
		t.Errorf("first key created %v, sign_after %v; want both %v", k1.CreatedAt, k1.SignAfter, epoch)
	}
	tok1 := issue(k1.ID)
	if err := verify(tok1); err != nil {
		t.Fatalf("token of the first key: %v", err)
	}

	// Second rotation: k2 is current and published, but k1 signs until
	// k2's sign_after, and keeps verifying after it.
	clk.Advance(time.Minute)
	rotated2 := clk.Now()
	rotate(t, svc, r, name, versionID(2))
	clk.Advance(cacheTTL)
	set2, err := cache.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	k2 := set2.Current
	if k2.ID == k1.ID || set2.Previous == nil || set2.Previous.ID != k1.ID {
		t.Fatalf("after the second rotation: current %q previous %v; want a new key and %q", k2.ID, set2.Previous, k1.ID)
	}
	if !k2.SignAfter.Equal(rotated2.Add(delay)) {
		t.Errorf("second key sign_after %v; want the rotation time + %v = %v", k2.SignAfter, delay, rotated2.Add(delay))
	}
	var kids []string
	for _, j := range set2.JWKS().Keys {
		kids = append(kids, j.Kid)
	}
	if !slices.Equal(kids, []string{k2.ID, k1.ID}) {
		t.Errorf("JWKS kids = %v; want both %q and %q", kids, k2.ID, k1.ID)
	}
	tok1b := issue(k1.ID)
	clk.t = k2.SignAfter.Add(-time.Second)
	issue(k1.ID)
	clk.t = k2.SignAfter
	tok2 := issue(k2.ID)
	for _, raw := range []string{tok1, tok1b, tok2} {
		if err := verify(raw); err != nil {
			t.Fatalf("after the second key activated: %v", err)
		}
	}

	// Third rotation: k1 leaves the secret. Until the key cache expires it
	// still verifies; after that it never does.
	clk.Advance(time.Minute)
	rotate(t, svc, r, name, versionID(3))
	if err := verify(tok1b); err != nil {
		t.Fatalf("within the key cache TTL the cached set still verifies: %v", err)
	}
	clk.Advance(cacheTTL)
	if err := verify(tok1b); !errors.Is(err, token.ErrInvalid) || !errors.Is(err, token.ErrUnknownKey) {
		t.Fatalf("token of a key rotated out = %v; want ErrInvalid and ErrUnknownKey", err)
	}
	if err := verify(tok2); err != nil {
		t.Fatalf("token of the now previous key: %v", err)
	}
	set3, err := cache.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if set3.Signing(clk.Now()).ID != k2.ID {
		t.Errorf("the third key signs before its sign_after %v", set3.Current.SignAfter)
	}
	for _, j := range set3.JWKS().Keys {
		if j.Kid == k1.ID {
			t.Errorf("JWKS still publishes the rotated-out key %q", k1.ID)
		}
	}
}

// TestRotationSteps covers the steps one at a time: createSecret is
// idempotent, nothing is public before finishSecret, a finished rotation is not
// redone, and events for versions that are not pending are refused.
func TestRotationSteps(t *testing.T) {
	ctx := testenv.Context(t)
	svc, name, _ := newSecret(t)
	r := &keys.Rotator{Secrets: svc, Alg: "EdDSA", Log: quiet}
	id := versionID(1)
	ev := func(step string) keys.RotationEvent {
		return keys.RotationEvent{Step: step, SecretID: name, ClientRequestToken: id}
	}

	if err := r.Handle(ctx, ev("createSecret")); !errors.Is(err, keys.ErrNotRotating) {
		t.Fatalf("createSecret with no rotation in progress = %v; want ErrNotRotating", err)
	}

	svc.pending = id
	if err := r.Handle(ctx, ev("createSecret")); err != nil {
		t.Fatal(err)
	}
	pending1 := valueAt(t, svc, name, "AWSPENDING")
	if err := r.Handle(ctx, ev("createSecret")); err != nil {
		t.Fatal(err)
	}
	if pending2 := valueAt(t, svc, name, "AWSPENDING"); pending2 != pending1 {
		t.Fatal("createSecret run twice made two keys")
	}
	if n := len(versionStages(t, svc, name)); n != 2 {
		t.Errorf("%d versions after createSecret twice; want the placeholder and one key", n)
	}
	pendingKey, err := keys.Parse([]byte(pending1))
	if err != nil || pendingKey.Alg != "EdDSA" {
		t.Fatalf("pending version = %+v, %v; want an EdDSA key", pendingKey, err)
	}
	if _, err := keys.Fetch(ctx, svc, name); !errors.Is(err, keys.ErrNoKey) {
		t.Fatalf("Fetch before finishSecret = %v; the pending key must not be in use yet", err)
	}
	if err := r.Handle(ctx, ev("rewindSecret")); err == nil {
		t.Error("an unknown step succeeded")
	}
	for _, step := range []string{"setSecret", "testSecret", "finishSecret"} {
		if err := r.Handle(ctx, ev(step)); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	set, err := keys.Fetch(ctx, svc, name)
	if err != nil || set.Current.ID != pendingKey.ID {
		t.Fatalf("Fetch after finishSecret = %q, %v; want the pending key %q", set.Current.ID, err, pendingKey.ID)
	}
	// A repeated event for the finished version changes nothing.
	for _, step := range steps {
		if err := r.Handle(ctx, ev(step)); err != nil {
			t.Errorf("%s after the rotation finished: %v", step, err)
		}
	}
	if again, _ := keys.Fetch(ctx, svc, name); again.Current.ID != pendingKey.ID {
		t.Errorf("current key changed to %q by repeated events", again.Current.ID)
	}

	// The old version (now AWSPREVIOUS) is not pending: refused.
	var previous string
	for v, stages := range versionStages(t, svc, name) {
		if slices.Contains(stages, "AWSPREVIOUS") {
			previous = v
		}
	}
	svc.pending = ""
	if err := r.Handle(ctx, keys.RotationEvent{Step: "createSecret", SecretID: name, ClientRequestToken: previous}); !errors.Is(err, keys.ErrNotRotating) {
		t.Errorf("createSecret for the AWSPREVIOUS version = %v; want ErrNotRotating", err)
	}
}

// TestRotationTestSecretRefusesBadKey: testSecret must stop a rotation whose
// pending value is not a usable key, before finishSecret promotes it.
func TestRotationTestSecretRefusesBadKey(t *testing.T) {
	ctx := testenv.Context(t)
	svc, name, _ := newSecret(t)
	r := &keys.Rotator{Secrets: svc, Alg: "ES256", Log: quiet}
	id := versionID(1)
	if _, err := svc.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(name), ClientRequestToken: aws.String(id),
		SecretString: aws.String(`{"kid":"k","alg":"ES256","private_key":"not pem"}`), VersionStages: []string{"AWSPENDING"},
	}); err != nil {
		t.Fatal(err)
	}
	err := r.Handle(ctx, keys.RotationEvent{Step: "testSecret", SecretID: name, ClientRequestToken: id})
	if !errors.Is(err, keys.ErrMalformed) {
		t.Fatalf("testSecret of a malformed pending key = %v; want ErrMalformed", err)
	}
}

func TestRotationAlgorithms(t *testing.T) {
	for _, alg := range algs {
		t.Run(alg, func(t *testing.T) {
			svc, name, _ := newSecret(t)
			rotate(t, svc, &keys.Rotator{Secrets: svc, Alg: alg, Log: quiet}, name, versionID(1))
			set, err := keys.Fetch(testenv.Context(t), svc, name)
			if err != nil {
				t.Fatal(err)
			}
			if set.Current.Alg != alg {
				t.Errorf("current key is %s; want %s", set.Current.Alg, alg)
			}
		})
	}
}
