package mac

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/rotor-auth/rotor/pkg/cached"
)

// Source gives the keyring in force.
type Source interface {
	Keyring(ctx context.Context) (Keyring, error)
}

// Static is a Source that never changes: local runs and tests.
type Static Keyring

// Keyring returns the keyring.
func (s Static) Keyring(context.Context) (Keyring, error) { return Keyring(s), nil }

// SecretsAPI is the part of the Secrets Manager client Fetch uses.
type SecretsAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Secret is one version of the MAC secret: the key it tags with, and the
// keys earlier normal rotations retired (which only derive: WithRetired).
type Secret struct {
	Key     []byte
	Retired [][]byte
}

// MaxRetired bounds the retired keys a secret keeps (the oldest go first):
// 256 keys of 64 characters stay far below Secrets Manager's 64 KiB value
// limit, and are more rotations than a deployment makes in decades.
const MaxRetired = 256

// secretJSON is a secret version with retired keys, as RotateMAC writes it.
type secretJSON struct {
	Key     string   `json:"key"`
	Retired []string `json:"retired,omitempty"`
}

// ParseSecret reads one version of the MAC secret. The template generates
// it as a random alphanumeric string whose bytes are the key (no retired
// keys); a rotation writes {"key": "...", "retired": ["...", ...]}, each
// string's bytes a key. A value starting with "{" is read as the latter.
func ParseSecret(secret string) (Secret, error) {
	if secret == "" {
		return Secret{}, ErrNoKey
	}
	if secret[0] != '{' {
		if len(secret) < MinKeyLen {
			return Secret{}, ErrShortKey
		}
		return Secret{Key: []byte(secret)}, nil
	}
	var j secretJSON
	dec := json.NewDecoder(strings.NewReader(secret))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return Secret{}, fmt.Errorf("%w: %v", ErrBadSecret, err)
	}
	if dec.More() {
		return Secret{}, fmt.Errorf("%w: data after the object", ErrBadSecret)
	}
	if j.Key == "" {
		return Secret{}, ErrNoKey
	}
	if len(j.Retired) > MaxRetired {
		return Secret{}, fmt.Errorf("%w: %d retired keys, at most %d", ErrBadSecret, len(j.Retired), MaxRetired)
	}
	out := Secret{Key: []byte(j.Key)}
	for _, k := range append([]string{j.Key}, j.Retired...) {
		if len(k) < MinKeyLen {
			return Secret{}, ErrShortKey
		}
	}
	for _, r := range j.Retired {
		out.Retired = append(out.Retired, []byte(r))
	}
	return out, nil
}

// Value is the secret's value as stored: the bare key when nothing is
// retired and the key cannot be mistaken for JSON (what every version before
// retired keys held), else the JSON object ParseSecret reads. (Not String:
// a secret must not print by accident.)
func (s Secret) Value() string {
	if len(s.Retired) == 0 && len(s.Key) > 0 && s.Key[0] != '{' {
		return string(s.Key)
	}
	j := secretJSON{Key: string(s.Key)}
	for _, r := range s.Retired {
		j.Retired = append(j.Retired, string(r))
	}
	b, _ := json.Marshal(j) // strings only: cannot fail
	return string(b)
}

// Parse turns one secret version into the key it tags with (ParseSecret).
func Parse(secret string) ([]byte, error) {
	s, err := ParseSecret(secret)
	return s.Key, err
}

// Fetch reads the AWSCURRENT version of the secret (which tags) and the
// AWSPREVIOUS one if there is one (which still verifies); the retired keys
// of both only derive (WithRetired).
func Fetch(ctx context.Context, api SecretsAPI, secretID string) (Keyring, error) {
	cur, err := fetchVersion(ctx, api, secretID, "AWSCURRENT")
	if err != nil {
		return Keyring{}, err
	}
	prev, err := fetchVersion(ctx, api, secretID, "AWSPREVIOUS")
	var notFound *smtypes.ResourceNotFoundException
	switch {
	case err == nil:
		ring, err := NewKeyring(cur.Key, prev.Key)
		if err != nil {
			return Keyring{}, err
		}
		return ring.WithRetired(append(append([][]byte{}, cur.Retired...), prev.Retired...)...)
	case errors.As(err, &notFound):
		ring, err := NewKeyring(cur.Key)
		if err != nil {
			return Keyring{}, err
		}
		return ring.WithRetired(cur.Retired...)
	}
	return Keyring{}, err
}

// FetchSecret reads the versions of the secret a rotation builds on: the
// AWSCURRENT one and the AWSPREVIOUS one (false when there is none).
func FetchSecret(ctx context.Context, api SecretsAPI, secretID string) (cur, prev Secret, hasPrev bool, err error) {
	if cur, err = fetchVersion(ctx, api, secretID, "AWSCURRENT"); err != nil {
		return Secret{}, Secret{}, false, err
	}
	prev, err = fetchVersion(ctx, api, secretID, "AWSPREVIOUS")
	var notFound *smtypes.ResourceNotFoundException
	switch {
	case err == nil:
		return cur, prev, true, nil
	case errors.As(err, &notFound):
		return cur, Secret{}, false, nil
	}
	return Secret{}, Secret{}, false, err
}

func fetchVersion(ctx context.Context, api SecretsAPI, secretID, stage string) (Secret, error) {
	out, err := api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID), VersionStage: aws.String(stage)})
	if err != nil {
		return Secret{}, fmt.Errorf("mac: fetch %s: %w", stage, err)
	}
	s, err := ParseSecret(aws.ToString(out.SecretString))
	if err != nil {
		return Secret{}, fmt.Errorf("mac: parse %s: %w", stage, err)
	}
	return s, nil
}

// Cache is a Source that calls Fetch at most once per TTL: a cached.Value of
// the keyring, whose fields it has. A failed re-fetch keeps the last good
// keyring and retries after RetryAfter; with none yet it returns the error,
// so callers fail closed. No lock is held during a fetch, one fetch runs at
// a time, and while it runs a caller holding a keyring (even one past TTL)
// gets it at once. Set the fields before the first call; do not copy a Cache
// after.
type Cache cached.Value[Keyring]

// Keyring returns the cached keyring, fetching it when older than TTL.
func (c *Cache) Keyring(ctx context.Context) (Keyring, error) {
	return (*cached.Value[Keyring])(c).Get(ctx)
}
