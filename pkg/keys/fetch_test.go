package keys_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/rotor-auth/rotor/pkg/keys"
)

// stagesAPI is a SecretsAPI answering by staging label.
type stagesAPI map[string]func() (string, error)

func (s stagesAPI) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f, ok := s[aws.ToString(in.VersionStage)]
	if !ok {
		return nil, &smtypes.ResourceNotFoundException{Message: aws.String("no such stage")}
	}
	v, err := f()
	if err != nil {
		return nil, err
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(v)}, nil
}

func TestFetch(t *testing.T) {
	cur, prev := generate(t, "ES256"), generate(t, "ES256")
	value := func(k keys.Key) func() (string, error) {
		b, err := k.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return func() (string, error) { return string(b), nil }
	}
	text := func(s string) func() (string, error) { return func() (string, error) { return s, nil } }
	outage := errors.New("throttled")
	fails := func() (string, error) { return "", outage }

	tests := []struct {
		name     string
		api      stagesAPI
		wantCur  string
		wantPrev string
		wantErr  error
	}{
		{"current and previous", stagesAPI{"AWSCURRENT": value(cur), "AWSPREVIOUS": value(prev)}, cur.ID, prev.ID, nil},
		{"no previous version", stagesAPI{"AWSCURRENT": value(cur)}, cur.ID, "", nil},
		{"previous is the deploy placeholder", stagesAPI{"AWSCURRENT": value(cur), "AWSPREVIOUS": text("q9#Lr2!vX8kP0zT5")}, cur.ID, "", nil},
		{"previous is the same key", stagesAPI{"AWSCURRENT": value(cur), "AWSPREVIOUS": value(cur)}, cur.ID, "", nil},
		{"current is the deploy placeholder", stagesAPI{"AWSCURRENT": text("q9#Lr2!vX8kP0zT5"), "AWSPREVIOUS": value(prev)}, "", "", keys.ErrNoKey},
		{"current unreadable", stagesAPI{"AWSCURRENT": fails, "AWSPREVIOUS": value(prev)}, "", "", outage},
		{"previous unreadable", stagesAPI{"AWSCURRENT": value(cur), "AWSPREVIOUS": fails}, "", "", outage},
		{"no secret at all", stagesAPI{}, "", "", &smtypes.ResourceNotFoundException{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set, err := keys.Fetch(context.Background(), tc.api, "rotor-signing-key")
			if tc.wantErr != nil {
				var nf *smtypes.ResourceNotFoundException
				if !errors.Is(err, tc.wantErr) && !(errors.As(tc.wantErr, &nf) && errors.As(err, &nf)) {
					t.Fatalf("Fetch = %v; want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if set.Current.ID != tc.wantCur {
				t.Errorf("Current = %q; want %q", set.Current.ID, tc.wantCur)
			}
			var gotPrev string
			if set.Previous != nil {
				gotPrev = set.Previous.ID
			}
			if gotPrev != tc.wantPrev {
				t.Errorf("Previous = %q; want %q", gotPrev, tc.wantPrev)
			}
		})
	}
}
