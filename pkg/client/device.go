package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
)

// DeviceStore keeps the device token each login returns, per username, and
// gives it back to the next login as that username. The server throttles a
// login that presents its device token apart from everyone else, so a
// stranger's failed guesses never lock this client out. Device tokens
// outlive logouts: a TokenStore's Clear must not touch them.
// Implementations must be safe for concurrent use.
type DeviceStore interface {
	// LoadDevice returns the device token saved for username, or "" when
	// there is none.
	LoadDevice(ctx context.Context, username string) (string, error)
	// SaveDevice replaces the device token of username.
	SaveDevice(ctx context.Context, username, token string) error
}

var (
	_ DeviceStore = (*MemoryDevices)(nil)
	_ DeviceStore = (*FileDevices)(nil)
)

// deviceKey is the key a device token is kept under: the username as the
// server compares it, near enough (trimmed, lower case). A mismatch only
// costs the trust of one login.
func deviceKey(username string) string { return strings.ToLower(strings.TrimSpace(username)) }

// MemoryDevices keeps device tokens in memory. Its zero value is ready to use.
type MemoryDevices struct {
	mu     sync.Mutex
	tokens map[string]string
}

// LoadDevice returns username's device token, or "".
func (m *MemoryDevices) LoadDevice(_ context.Context, username string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tokens[deviceKey(username)], nil
}

// SaveDevice replaces username's device token.
func (m *MemoryDevices) SaveDevice(_ context.Context, username, token string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tokens == nil {
		m.tokens = map[string]string{}
	}
	m.tokens[deviceKey(username)] = token
	return nil
}

// FileDevices keeps device tokens in a JSON file readable only by its owner
// (mode 0600), written atomically like FileStore's. Use a file of its own:
// FileStore.Clear removes its file at logout, and device tokens must stay.
type FileDevices struct {
	// Path is the file's name. Its directory must exist.
	Path string

	mu sync.Mutex // orders this process's read-modify-write of the file
}

// LoadDevice returns username's device token, or "".
func (f *FileDevices) LoadDevice(_ context.Context, username string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	all, err := f.read()
	return all[deviceKey(username)], err
}

// SaveDevice replaces username's device token.
func (f *FileDevices) SaveDevice(_ context.Context, username, token string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	all, err := f.read()
	if err != nil {
		return err
	}
	all[deviceKey(username)] = token
	b, err := json.Marshal(all)
	if err != nil {
		return fmt.Errorf("client: save device token: %w", err)
	}
	if err := writePrivate(f.Path, b); err != nil {
		return fmt.Errorf("client: save device token: %w", err)
	}
	return nil
}

func (f *FileDevices) read() (map[string]string, error) {
	all := map[string]string{}
	b, err := os.ReadFile(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return all, nil
	}
	if err != nil {
		return nil, fmt.Errorf("client: load device tokens: %w", err)
	}
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, fmt.Errorf("client: load device tokens from %s: %w", f.Path, err)
	}
	return all, nil
}
