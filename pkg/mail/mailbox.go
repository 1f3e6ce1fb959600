package mail

import (
	"context"
	"sync"
)

// DefaultMailboxSize bounds a Mailbox whose Max is 0.
const DefaultMailboxSize = 200

// Mailbox is the local server's transport: it keeps the last mails in
// memory, where the demo page lists them (GET /dev/mailbox). It is never
// used by a Lambda function.
type Mailbox struct {
	Max   int // DefaultMailboxSize when 0
	mu    sync.Mutex
	mails []Email
}

// Send implements Transport.
func (b *Mailbox) Send(_ context.Context, e Email) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	max := b.Max
	if max <= 0 {
		max = DefaultMailboxSize
	}
	b.mails = append(b.mails, e)
	if len(b.mails) > max {
		b.mails = b.mails[len(b.mails)-max:]
	}
	return nil
}

// List returns the mails received, newest first, to (when not empty) only.
func (b *Mailbox) List(to string) []Email {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := []Email{}
	for i := len(b.mails) - 1; i >= 0; i-- {
		if to == "" || b.mails[i].To == to {
			out = append(out, b.mails[i])
		}
	}
	return out
}
