package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Tokens is the pair a login or a refresh returns, with the times they
// expire computed from the server's expires_in values.
type Tokens struct {
	// AccessToken is the short-lived JWT sent with each request.
	AccessToken string `json:"access_token"`
	// RefreshToken is the opaque token exchanged at /auth/refresh.
	RefreshToken string `json:"refresh_token"`
	// TokenType is the server's token_type: "Bearer", or "DPoP" for a pair
	// bound to the Transport's DPoPKey (each use then needs a proof by that
	// key). Empty, as in files saved before DPoP, means Bearer.
	TokenType string `json:"token_type,omitempty"`
	// AccessExpiresAt is when the access token expires, by the client's
	// clock at the time it was issued; zero when unknown.
	AccessExpiresAt time.Time `json:"access_expires_at,omitzero"`
	// RefreshExpiresAt is when the refresh token expires if unused; zero
	// when unknown.
	RefreshExpiresAt time.Time `json:"refresh_expires_at,omitzero"`
}

// TokenStore keeps the current token pair between requests and, for a
// FileStore, between runs. Implementations must be safe for concurrent use.
type TokenStore interface {
	// Load returns the stored pair, or ErrNoTokens when there is none.
	Load(ctx context.Context) (Tokens, error)
	// Save replaces the stored pair.
	Save(ctx context.Context, t Tokens) error
	// Clear forgets the stored pair; clearing an empty store is not an error.
	Clear(ctx context.Context) error
}

var (
	_ TokenStore = (*MemoryStore)(nil)
	_ TokenStore = (*FileStore)(nil)
)

// MemoryStore keeps the pair in memory, for processes that log in at
// start. Its zero value is an empty store ready to use.
type MemoryStore struct {
	mu     sync.Mutex
	tokens Tokens
	set    bool
}

// Load returns the stored pair or ErrNoTokens.
func (s *MemoryStore) Load(context.Context) (Tokens, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.set {
		return Tokens{}, ErrNoTokens
	}
	return s.tokens, nil
}

// Save replaces the stored pair.
func (s *MemoryStore) Save(_ context.Context, t Tokens) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens, s.set = t, true
	return nil
}

// Clear forgets the stored pair.
func (s *MemoryStore) Clear(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens, s.set = Tokens{}, false
	return nil
}

// FileStore keeps the pair in a JSON file readable only by its owner
// (mode 0600), so a command-line tool stays logged in between runs. Saves
// write a temporary file in the same directory and rename it over the old
// one, so a crash never leaves a half-written file and a reader never sees
// one.
type FileStore struct {
	// Path is the file's name. Its directory must exist.
	Path string
}

// Load reads the pair from the file, or returns ErrNoTokens when the file
// does not exist.
func (s *FileStore) Load(context.Context) (Tokens, error) {
	b, err := os.ReadFile(s.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return Tokens{}, ErrNoTokens
	}
	if err != nil {
		return Tokens{}, fmt.Errorf("client: load tokens: %w", err)
	}
	var t Tokens
	if err := json.Unmarshal(b, &t); err != nil {
		return Tokens{}, fmt.Errorf("client: load tokens from %s: %w", s.Path, err)
	}
	return t, nil
}

// Save writes the pair atomically with mode 0600.
func (s *FileStore) Save(_ context.Context, t Tokens) error {
	b, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("client: save tokens: %w", err)
	}
	if err := writePrivate(s.Path, b); err != nil {
		return fmt.Errorf("client: save tokens: %w", err)
	}
	return nil
}

// writePrivate replaces the file at path with b: written to a temporary file
// in the same directory with mode 0600, synced, then renamed over path, so
// a crash never leaves a half-written file and a reader never sees one.
func writePrivate(path string, b []byte) (err error) {
	// CreateTemp makes the file with mode 0600, so the contents are never
	// readable by others, not even for a moment.
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(b); err != nil {
		return err
	}
	if err = f.Chmod(0o600); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// Clear removes the file.
func (s *FileStore) Clear(context.Context) error {
	if err := os.Remove(s.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("client: clear tokens: %w", err)
	}
	return nil
}
