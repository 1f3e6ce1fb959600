package client_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/client"
)

// TestTokenStoreContract runs the same checks against every TokenStore.
func TestTokenStoreContract(t *testing.T) {
	tests := []struct {
		name  string
		store func(t *testing.T) client.TokenStore
	}{
		{"MemoryStore", func(*testing.T) client.TokenStore { return &client.MemoryStore{} }},
		{"FileStore", func(t *testing.T) client.TokenStore {
			return &client.FileStore{Path: filepath.Join(t.TempDir(), "tokens.json")}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := tc.store(t)
			if _, err := s.Load(ctx); !errors.Is(err, client.ErrNoTokens) {
				t.Fatalf("Load of empty store: %v, want ErrNoTokens", err)
			}
			want := client.Tokens{
				AccessToken:      "a.b.c",
				RefreshToken:     "rtr_1",
				AccessExpiresAt:  time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
				RefreshExpiresAt: time.Date(2030, 1, 16, 3, 4, 5, 0, time.UTC),
			}
			for _, tok := range []client.Tokens{{AccessToken: "old", RefreshToken: "old"}, want} {
				if err := s.Save(ctx, tok); err != nil {
					t.Fatalf("Save: %v", err)
				}
			}
			got, err := s.Load(ctx)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got.AccessToken != want.AccessToken || got.RefreshToken != want.RefreshToken ||
				!got.AccessExpiresAt.Equal(want.AccessExpiresAt) || !got.RefreshExpiresAt.Equal(want.RefreshExpiresAt) {
				t.Errorf("Load = %+v, want %+v", got, want)
			}
			for range 2 {
				if err := s.Clear(ctx); err != nil {
					t.Fatalf("Clear: %v", err)
				}
			}
			if _, err := s.Load(ctx); !errors.Is(err, client.ErrNoTokens) {
				t.Errorf("Load after Clear: %v, want ErrNoTokens", err)
			}
		})
	}
}

func TestFileStoreIsPrivateAndAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tokens.json")
	// A file left readable by an older tool must not stay readable.
	if err := os.WriteFile(path, []byte(`{}`), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &client.FileStore{Path: path}
	if err := s.Save(context.Background(), client.Tokens{AccessToken: "a", RefreshToken: "r"}); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("mode = %o, want 600", perm)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d files, want only tokens.json (no temporary files left)", len(entries))
	}
}

func TestFileStoreCorruptFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.json")
	os.WriteFile(path, []byte("not json"), 0o600)
	_, err := (&client.FileStore{Path: path}).Load(context.Background())
	if err == nil || errors.Is(err, client.ErrNoTokens) {
		t.Errorf("Load of corrupt file: %v, want a decode error", err)
	}
}
