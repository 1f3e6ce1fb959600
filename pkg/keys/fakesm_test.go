package keys_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/rotor-auth/rotor/pkg/keys"
)

// fakeSecrets is one Secrets Manager secret in memory, with the staging-label
// rules a rotation relies on: moving AWSCURRENT moves AWSPREVIOUS to the
// version that had it, and a version labelled AWSPENDING by RotateSecret has
// no value until createSecret puts one. It lets a test step a fake clock
// through many rotations without a server; the same walks also run against
// moto (TestHandoverMoto).
type fakeSecrets struct {
	mu       sync.Mutex
	values   map[string]*string // version id -> value; nil: no value yet
	stages   map[string][]string
	previous string // the version that holds AWSPREVIOUS
}

var _ keys.RotationAPI = (*fakeSecrets)(nil)

func newFakeSecrets(placeholder string) *fakeSecrets {
	return &fakeSecrets{
		values: map[string]*string{"initial": &placeholder},
		stages: map[string][]string{"initial": {"AWSCURRENT"}},
	}
}

func notFound(format string, args ...any) error {
	return &smtypes.ResourceNotFoundException{Message: aws.String(fmt.Sprintf(format, args...))}
}

// withStage returns the version holding stage, or "".
func (f *fakeSecrets) withStage(stage string) string {
	for id, stages := range f.stages {
		if slices.Contains(stages, stage) {
			return id
		}
	}
	return ""
}

func (f *fakeSecrets) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := aws.ToString(in.VersionId)
	stage := aws.ToString(in.VersionStage)
	if id == "" {
		id = f.withStage(stage)
	} else if stage != "" && !slices.Contains(f.stages[id], stage) {
		return nil, notFound("version %s is not %s", id, stage)
	}
	v, ok := f.values[id]
	if !ok || v == nil {
		return nil, notFound("no value for version %q stage %q", id, stage)
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(*v), VersionId: aws.String(id)}, nil
}

func (f *fakeSecrets) DescribeSecret(context.Context, *secretsmanager.DescribeSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string][]string{}
	for id, stages := range f.stages {
		if len(stages) > 0 {
			out[id] = slices.Clone(stages)
		}
	}
	return &secretsmanager.DescribeSecretOutput{VersionIdsToStages: out}, nil
}

func (f *fakeSecrets) PutSecretValue(_ context.Context, in *secretsmanager.PutSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := aws.ToString(in.ClientRequestToken)
	if v := f.values[id]; v != nil {
		return nil, &smtypes.ResourceExistsException{Message: aws.String("version " + id + " has a value")}
	}
	v := aws.ToString(in.SecretString)
	f.values[id] = &v
	for _, s := range in.VersionStages {
		f.label(s, id)
	}
	return &secretsmanager.PutSecretValueOutput{VersionId: aws.String(id)}, nil
}

func (f *fakeSecrets) UpdateSecretVersionStage(_ context.Context, in *secretsmanager.UpdateSecretVersionStageInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.UpdateSecretVersionStageOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	stage, to, from := aws.ToString(in.VersionStage), aws.ToString(in.MoveToVersionId), aws.ToString(in.RemoveFromVersionId)
	if holder := f.withStage(stage); holder != "" && holder != from {
		return nil, &smtypes.InvalidParameterException{Message: aws.String(stage + " is on " + holder + ", not " + from)}
	}
	if stage == "AWSCURRENT" && from != "" && to != "" {
		f.unlabel("AWSPREVIOUS")
		f.stages[from] = append(f.stages[from], "AWSPREVIOUS")
	}
	f.unlabel(stage)
	if to != "" {
		f.label(stage, to)
	}
	return &secretsmanager.UpdateSecretVersionStageOutput{}, nil
}

func (f *fakeSecrets) label(stage, id string) {
	f.unlabel(stage)
	f.stages[id] = append(f.stages[id], stage)
}

func (f *fakeSecrets) unlabel(stage string) {
	for id, stages := range f.stages {
		f.stages[id] = slices.DeleteFunc(stages, func(s string) bool { return s == stage })
	}
}

// rotate runs one whole rotation to version id as Secrets Manager would:
// label id AWSPENDING, run the four steps (each twice, as a retried Lambda
// would), remove AWSPENDING.
func (f *fakeSecrets) rotate(t *testing.T, r *keys.Rotator, id string) {
	t.Helper()
	f.mu.Lock()
	f.values[id] = nil
	f.label("AWSPENDING", id)
	f.mu.Unlock()
	for _, step := range steps {
		for attempt := range 2 {
			if err := r.Handle(context.Background(), keys.RotationEvent{Step: step, SecretID: "fake", ClientRequestToken: id}); err != nil {
				t.Fatalf("rotation to %s: %s (attempt %d): %v", id, step, attempt+1, err)
			}
		}
	}
	f.mu.Lock()
	f.unlabel("AWSPENDING")
	cur := f.withStage("AWSCURRENT")
	f.mu.Unlock()
	if cur != id {
		t.Fatalf("after rotating to %s AWSCURRENT is on %s", id, cur)
	}
}

// TestRotatorActivation: the rotation function writes each new key's
// sign_after: creation + ActivationDelay, except when no key is in use yet.
func TestRotatorActivation(t *testing.T) {
	existing := generate(t, "EdDSA")
	existingJSON, err := existing.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		current string // the AWSCURRENT value before the rotation
		delay   time.Duration
		want    time.Duration // sign_after - created_at
	}{
		{"next key waits the delay", string(existingJSON), 20 * time.Minute, 20 * time.Minute},
		{"zero delay means the default", string(existingJSON), 0, keys.DefaultActivationDelay},
		{"first key of a fresh deploy signs at once", "Zq8#vL2!pX9kR0tW5yBn3mC7", 20 * time.Minute, 0},
		{"current value unusable: nothing signs, so at once", `{"kid":"k","alg":"ES256","private_key":"not pem"}`, 20 * time.Minute, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc := newFakeSecrets(tc.current)
			r := &keys.Rotator{Secrets: svc, Alg: "EdDSA", ActivationDelay: tc.delay, Now: func() time.Time { return epoch }, Log: quiet}
			svc.rotate(t, r, versionID(1))
			out, err := svc.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{VersionStage: aws.String("AWSCURRENT")})
			if err != nil {
				t.Fatal(err)
			}
			k, err := keys.Parse([]byte(aws.ToString(out.SecretString)))
			if err != nil {
				t.Fatal(err)
			}
			if got := k.SignAfter.Sub(k.CreatedAt); got != tc.want || !k.CreatedAt.Equal(epoch) {
				t.Errorf("created %v, sign_after %v (+%v); want +%v", k.CreatedAt, k.SignAfter, got, tc.want)
			}
		})
	}
}

// TestRotatorLogsToItsLogger: the rotation's security events (a key created,
// a key rotated in) go to the Rotator's logger, where the metric filters and
// the operator look for them, and say which key without its material.
func TestRotatorLogsToItsLogger(t *testing.T) {
	var buf bytes.Buffer
	svc := newFakeSecrets(`{"placeholder":true}`)
	r := &keys.Rotator{Secrets: svc, Alg: "ES256", Now: func() time.Time { return epoch }, Log: slog.New(slog.NewJSONHandler(&buf, nil))}
	svc.rotate(t, r, versionID(1))
	logs := buf.String()
	if !strings.Contains(logs, `"event":"key_created"`) || !strings.Contains(logs, `"event":"key_rotated"`) || strings.Contains(logs, "PRIVATE KEY") {
		t.Fatalf("rotation logs: %s", logs)
	}
}
