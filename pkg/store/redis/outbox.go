package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/rotor-auth/rotor/pkg/outbox"
)

var _ outbox.Store = (*Store)(nil)

// outboxRetention is how long a message's hash lives after it was written:
// long enough to read why one failed.
const outboxRetention = 30 * 24 * time.Hour

// waiting is the sorted set of waiting message ids, scored by next_at.
func (st *Store) waiting() string { return st.key("od", "") }

// MessageKeys returns the keys that adding m touches (its hash, the waiting
// set) and MessageArgs the arguments of add_message.lua: what a flow's own
// script repeats to add m in the same script as what m carries.
func (st *Store) MessageKeys(id string) []string { return []string{st.key("o", id), st.waiting()} }

// MessageArgs: see MessageKeys.
func MessageArgs(m outbox.Message) []any {
	next := m.NextAt
	if next.IsZero() {
		next = m.CreatedAt
	}
	data, _ := json.Marshal(m.Data) // a map of strings always encodes
	if m.Data == nil {
		data = []byte("{}")
	}
	return []any{m.ID, string(m.Kind), m.To, m.UserID, m.TokenID, string(data), ms(m.CreatedAt), ms(next),
		strconv.FormatInt(outboxRetention.Milliseconds(), 10)}
}

// AddMessage adds m on its own (tests and tools). A message already stored
// under m.ID is kept: the write is a retry.
func (st *Store) AddMessage(ctx context.Context, m outbox.Message) error {
	if err := st.run(ctx, "add_message", st.MessageKeys(m.ID), MessageArgs(m)...).Err(); err != nil {
		return fmt.Errorf("redis: add message: %w", err)
	}
	return nil
}

func messageFrom(f map[string]string) outbox.Message {
	m := outbox.Message{
		ID:        f["id"],
		Kind:      outbox.Kind(f["kind"]),
		To:        f["to"],
		UserID:    f["user_id"],
		TokenID:   f["token_id"],
		Data:      map[string]string{},
		CreatedAt: msTime(f, "created_at"),
		NextAt:    msTime(f, "next_at"),
		Attempts:  int(num(f, "attempts")),
		Failed:    f["failed"] == "1",
		LastError: f["last_error"],
	}
	_ = json.Unmarshal([]byte(f["data"]), &m.Data) // written by MessageArgs
	if _, ok := f["lease_until"]; ok {
		m.LeaseUntil = msTime(f, "lease_until")
	}
	if _, ok := f["sent_at"]; ok {
		m.SentAt = msTime(f, "sent_at")
	}
	return m
}

// DueMessages implements outbox.Store with one script (due_messages.lua).
func (st *Store) DueMessages(ctx context.Context, now time.Time, limit int) ([]outbox.Message, error) {
	v, err := st.run(ctx, "due_messages", []string{st.waiting()}, ms(now), max(limit, 0), st.prefix("o")).Slice()
	if err != nil {
		return nil, fmt.Errorf("redis: due messages: %w", err)
	}
	due := make([]outbox.Message, 0, len(v))
	for _, f := range v {
		due = append(due, messageFrom(fields(f)))
	}
	return due, nil
}

// ClaimMessage implements outbox.Store with one script (claim_message.lua).
func (st *Store) ClaimMessage(ctx context.Context, id string, now, leaseUntil time.Time) (outbox.Message, error) {
	v, err := st.run(ctx, "claim_message", st.MessageKeys(id), id, ms(now), ms(leaseUntil)).Slice()
	if err != nil {
		return outbox.Message{}, fmt.Errorf("redis: claim message %s: %w", id, err)
	}
	if len(v) == 0 {
		return outbox.Message{}, errors.New("redis: claim message: malformed reply")
	}
	switch status, _ := v[0].(int64); {
	case status == -1:
		return outbox.Message{}, outbox.ErrNotFound
	case status != 1 || len(v) != 2:
		return outbox.Message{}, outbox.ErrClaimed
	}
	return messageFrom(fields(v[1])), nil
}

// MarkSent implements outbox.Store with one script (mark_sent.lua).
func (st *Store) MarkSent(ctx context.Context, id string, leaseUntil, now time.Time) error {
	return st.mark(ctx, "mark_sent", id, leaseUntil, ms(now))
}

// MarkFailed implements outbox.Store with one script (mark_failed.lua).
func (st *Store) MarkFailed(ctx context.Context, id string, leaseUntil, nextAt time.Time, permanent bool, reason string) error {
	p := "0"
	if permanent {
		p = "1"
	}
	return st.mark(ctx, "mark_failed", id, leaseUntil, ms(nextAt), p, reason)
}

func (st *Store) mark(ctx context.Context, script, id string, leaseUntil time.Time, args ...any) error {
	if leaseUntil.IsZero() {
		return outbox.ErrClaimed
	}
	status, err := st.run(ctx, script, st.MessageKeys(id), append([]any{id, ms(leaseUntil)}, args...)...).Int64()
	switch {
	case err != nil:
		return fmt.Errorf("redis: %s %s: %w", script, id, err)
	case status == -1:
		return outbox.ErrNotFound
	case status != 1:
		return outbox.ErrClaimed
	}
	return nil
}
