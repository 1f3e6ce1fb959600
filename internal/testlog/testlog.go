// Package testlog captures what a server under test logs (JSON lines, as
// the functions write them to CloudWatch) for a test to read while the
// server still writes.
package testlog

import (
	"bytes"
	"log/slog"
	"sync"
)

// Buffer collects log lines or a process's output; safe for concurrent
// writers and readers.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String is everything written so far.
func (l *Buffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// Logger writes JSON lines at level and above to l.
func (l *Buffer) Logger(level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: level}))
}
