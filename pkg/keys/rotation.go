package keys

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// RotationAPI is the part of Secrets Manager a rotation needs.
type RotationAPI interface {
	SecretsAPI
	DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
	UpdateSecretVersionStage(ctx context.Context, in *secretsmanager.UpdateSecretVersionStageInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.UpdateSecretVersionStageOutput, error)
}

// RotationEvent is what Secrets Manager sends a rotation function.
type RotationEvent struct {
	Step               string `json:"Step"`
	SecretID           string `json:"SecretId"`
	ClientRequestToken string `json:"ClientRequestToken"`
}

// DefaultActivationDelay is the ActivationDelay of a Rotator that sets none:
// the 5 minute key cache, plus the 5 minutes a JWKS response may be cached
// over HTTP, plus 5 minutes of margin.
const DefaultActivationDelay = 15 * time.Minute

// Rotator is a Secrets Manager rotation function for signing keys: each
// rotation generates a new key, which becomes AWSCURRENT while the one it
// replaces becomes AWSPREVIOUS. The new key is published (verifies, is in
// the JWKS) at once but signs only from its sign_after, ActivationDelay
// after its creation; until then the previous key keeps signing (Set.Signing).
type Rotator struct {
	Secrets RotationAPI
	Alg     string
	// ActivationDelay must exceed the longest time anyone can verify with a
	// key set read before the rotation: the key cache TTL, plus the JWKS
	// Cache-Control max-age for verifiers outside Rotor. Zero means
	// DefaultActivationDelay. The first key of a secret signs at once:
	// nothing signs before it, so there is nothing to wait for.
	ActivationDelay time.Duration
	Rand            io.Reader
	Now             func() time.Time
	Log             *slog.Logger
}

// ErrNotRotating means the event's version is not one the secret is rotating to.
var ErrNotRotating = errors.New("keys: version is not pending rotation")

// Handle runs one step of a rotation.
func (r *Rotator) Handle(ctx context.Context, ev RotationEvent) error {
	desc, err := r.Secrets.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(ev.SecretID)})
	if err != nil {
		return fmt.Errorf("keys: rotate: describe: %w", err)
	}
	stages, ok := desc.VersionIdsToStages[ev.ClientRequestToken]
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotRotating, ev.ClientRequestToken)
	}
	if slices.Contains(stages, "AWSCURRENT") {
		return nil // already done
	}
	if !slices.Contains(stages, "AWSPENDING") {
		return fmt.Errorf("%w: %s", ErrNotRotating, ev.ClientRequestToken)
	}
	switch ev.Step {
	case "createSecret":
		return r.create(ctx, ev)
	case "setSecret":
		return nil // no downstream service holds the key
	case "testSecret":
		return r.test(ctx, ev)
	case "finishSecret":
		return r.finish(ctx, ev, desc.VersionIdsToStages)
	}
	return fmt.Errorf("keys: rotate: unknown step %q", ev.Step)
}

func (r *Rotator) create(ctx context.Context, ev RotationEvent) error {
	_, err := r.Secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId: aws.String(ev.SecretID), VersionId: aws.String(ev.ClientRequestToken), VersionStage: aws.String("AWSPENDING"),
	})
	if err == nil {
		return nil // created by an earlier attempt of this step
	}
	var notFound *smtypes.ResourceNotFoundException
	if !errors.As(err, &notFound) {
		return fmt.Errorf("keys: rotate: read pending: %w", err)
	}
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	k, err := Generate(r.Alg, r.Rand, now())
	if err != nil {
		return err
	}
	first, err := r.noKeyInUse(ctx, ev.SecretID)
	if err != nil {
		return err
	}
	k.SignAfter = k.CreatedAt
	if !first {
		delay := r.ActivationDelay
		if delay <= 0 {
			delay = DefaultActivationDelay
		}
		k.SignAfter = k.CreatedAt.Add(delay)
	}
	value, err := k.Marshal()
	if err != nil {
		return err
	}
	_, err = r.Secrets.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(ev.SecretID), ClientRequestToken: aws.String(ev.ClientRequestToken),
		SecretString: aws.String(string(value)), VersionStages: []string{"AWSPENDING"},
	})
	if err != nil {
		return fmt.Errorf("keys: rotate: put pending: %w", err)
	}
	r.log().Info("signing key created", "event", "key_created", "kid", k.ID, "alg", k.Alg, "sign_after", k.SignAfter)
	return nil
}

// noKeyInUse reports whether AWSCURRENT holds no usable key (the placeholder
// of a fresh deploy): then no token can be signed or verified yet, and the
// new key may sign as soon as it is current.
func (r *Rotator) noKeyInUse(ctx context.Context, secretID string) (bool, error) {
	_, err := fetchVersion(ctx, r.Secrets, secretID, "AWSCURRENT")
	switch {
	case err == nil:
		return false, nil
	case errors.Is(err, ErrNoKey), errors.Is(err, ErrMalformed), errors.Is(err, ErrUnsupported):
		return true, nil
	}
	return false, fmt.Errorf("keys: rotate: read current: %w", err)
}

func (r *Rotator) test(ctx context.Context, ev RotationEvent) error {
	out, err := r.Secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId: aws.String(ev.SecretID), VersionId: aws.String(ev.ClientRequestToken), VersionStage: aws.String("AWSPENDING"),
	})
	if err != nil {
		return fmt.Errorf("keys: rotate: read pending: %w", err)
	}
	if _, err := Parse([]byte(aws.ToString(out.SecretString))); err != nil {
		return fmt.Errorf("keys: rotate: pending version: %w", err)
	}
	return nil
}

func (r *Rotator) finish(ctx context.Context, ev RotationEvent, versions map[string][]string) error {
	var current string
	for id, stages := range versions {
		if slices.Contains(stages, "AWSCURRENT") {
			current = id
		}
	}
	_, err := r.Secrets.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{
		SecretId: aws.String(ev.SecretID), VersionStage: aws.String("AWSCURRENT"),
		MoveToVersionId: aws.String(ev.ClientRequestToken), RemoveFromVersionId: aws.String(current),
	})
	if err != nil {
		return fmt.Errorf("keys: rotate: promote: %w", err)
	}
	r.log().Info("signing key rotated", "event", "key_rotated", "version", ev.ClientRequestToken)
	return nil
}

func (r *Rotator) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}
