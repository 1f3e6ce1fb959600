package admin_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/admin"
	"github.com/rotor-auth/rotor/pkg/keys"
	"github.com/rotor-auth/rotor/pkg/token"
)

// TestEmergencyRotation on Secrets Manager (moto): after the emergency
// rotation the secret holds only the new key; a verifier whose key cache
// still holds the old set accepts an old token until its cache expires, and
// refuses it after (within ROTOR_KEY_CACHE_TTL); new tokens verify.
func TestEmergencyRotation(t *testing.T) {
	ctx := testenv.Context(t)
	sm := testenv.SecretsManager(t)
	id := testenv.Name(t, "signing")
	now := time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }

	// A deployment that has rotated once: AWSCURRENT and AWSPREVIOUS both verify.
	older, err := keys.Generate("ES256", nil, now.Add(-48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	old, err := keys.Generate("ES256", nil, now.Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range []keys.Key{older, old} {
		v, _ := k.Marshal()
		if i == 0 {
			_, err = sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(id), SecretString: aws.String(string(v))})
		} else {
			_, err = sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(id), SecretString: aws.String(string(v))})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	fetch := func(ctx context.Context) (keys.Set, error) { return keys.Fetch(ctx, sm, id) }
	cache := &keys.Cache{Fetch: fetch, TTL: 5 * time.Minute, Now: clock}
	verifier := &token.Verifier{Keys: cache, Alg: "ES256", Issuer: "rotor", Audience: "rotor-api", Leeway: 5 * time.Second, Now: clock}
	issuer := &token.Issuer{Keys: cache, Issuer: "rotor", Audience: "rotor-api", TTL: 15 * time.Minute}
	before, err := issuer.Issue(ctx, token.Subject{UserID: "usr_1", Username: "alice", SessionID: "s1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verifier.Verify(ctx, before); err != nil {
		t.Fatalf("before the rotation: %v", err)
	}

	a := &admin.Admin{Secrets: sm, SecretID: id, Alg: "ES256", Caller: "local", Now: clock, Log: discard()}
	r, err := a.RotateKeys(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	set, err := keys.Fetch(ctx, sm, id)
	if err != nil {
		t.Fatal(err)
	}
	if set.Current.ID != r.Kid || set.Previous != nil {
		t.Fatalf("after the emergency rotation the secret holds %s and previous %v; want only %s", set.Current.ID, set.Previous, r.Kid)
	}
	if got := set.Signing(now); got.ID != r.Kid {
		t.Fatalf("signing key %s, want the emergency key %s at once", got.ID, r.Kid)
	}

	now = now.Add(time.Minute) // inside the key cache: the old set is still held
	if _, err := verifier.Verify(ctx, before); err != nil {
		t.Fatalf("inside the key cache lifetime the old token still verifies in this design: %v", err)
	}
	now = now.Add(5 * time.Minute) // past the key cache lifetime
	if _, err := verifier.Verify(ctx, before); !errors.Is(err, token.ErrInvalid) {
		t.Fatalf("an access token of the retired key after the key cache: %v, want ErrInvalid", err)
	}
	after, err := issuer.Issue(ctx, token.Subject{UserID: "usr_1", Username: "alice", SessionID: "s1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := verifier.Verify(ctx, after); err != nil || c.Subject != "usr_1" {
		t.Fatalf("a token of the new key: %v", err)
	}
}

// TestNormalRotationAsksSecretsManager: a normal rotation is Secrets
// Manager's RotateSecret (the stack's rotation function does the work); it
// writes no key itself.
func TestNormalRotationAsksSecretsManager(t *testing.T) {
	f := &fakeSecrets{}
	a := &admin.Admin{Secrets: f, SecretID: "arn:secret", Alg: "ES256", Caller: "local", Log: discard()}
	r, err := a.RotateKeys(context.Background(), false)
	if err != nil || r.VersionID != "v2" || r.Emergency {
		t.Fatalf("rotate: %+v, %v", r, err)
	}
	if f.rotated != 1 || f.puts != 0 || f.stages != 0 {
		t.Fatalf("calls: rotate %d, put %d, stage %d; want only RotateSecret", f.rotated, f.puts, f.stages)
	}
	if _, err := (&admin.Admin{}).RotateKeys(context.Background(), false); !errors.Is(err, admin.ErrNoSecret) {
		t.Fatalf("without a secret: %v", err)
	}
}

type fakeSecrets struct{ rotated, puts, stages int }

func (f *fakeSecrets) GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	return nil, errors.New("a signing-key rotation reads no secret")
}

func (f *fakeSecrets) DescribeSecret(context.Context, *secretsmanager.DescribeSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error) {
	return &secretsmanager.DescribeSecretOutput{}, nil
}
func (f *fakeSecrets) PutSecretValue(context.Context, *secretsmanager.PutSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error) {
	f.puts++
	return &secretsmanager.PutSecretValueOutput{}, nil
}
func (f *fakeSecrets) UpdateSecretVersionStage(context.Context, *secretsmanager.UpdateSecretVersionStageInput, ...func(*secretsmanager.Options)) (*secretsmanager.UpdateSecretVersionStageOutput, error) {
	f.stages++
	return &secretsmanager.UpdateSecretVersionStageOutput{}, nil
}
func (f *fakeSecrets) RotateSecret(_ context.Context, in *secretsmanager.RotateSecretInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.RotateSecretOutput, error) {
	f.rotated++
	if !aws.ToBool(in.RotateImmediately) {
		return nil, errors.New("want RotateImmediately")
	}
	return &secretsmanager.RotateSecretOutput{VersionId: aws.String("v2")}, nil
}
