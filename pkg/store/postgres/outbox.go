package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rotor-auth/rotor/pkg/outbox"
)

var _ outbox.Store = (*Store)(nil)

// AddMessageQuery returns the statement and arguments that add m (new and
// waiting) to the outbox, for a flow to run in the transaction of what m
// carries.
func (st *Store) AddMessageQuery(m outbox.Message) (string, pgx.NamedArgs) {
	next := m.NextAt
	if next.IsZero() {
		next = m.CreatedAt
	}
	data, _ := json.Marshal(m.Data) // a map of strings always encodes
	if m.Data == nil {
		data = []byte("{}")
	}
	return st.q("add_message"), pgx.NamedArgs{
		"id": m.ID, "kind": string(m.Kind), "to_address": m.To, "user_id": m.UserID, "token_id": m.TokenID,
		"data": string(data), "created_at": m.CreatedAt, "next_at": next,
	}
}

// AddMessage adds m on its own (tests and tools). A message already stored
// under m.ID is kept: the write is a retry.
func (st *Store) AddMessage(ctx context.Context, m outbox.Message) error {
	q, args := st.AddMessageQuery(m)
	if _, err := st.DB.Exec(ctx, q, args); err != nil {
		return fmt.Errorf("postgres: add message: %w", err)
	}
	return nil
}

// messageRow scans the columns the outbox statements return.
type messageRow struct {
	m          outbox.Message
	kind       string
	sent       *time.Time
	leaseUntil *time.Time
}

func (r *messageRow) dest() []any {
	return []any{&r.m.ID, &r.kind, &r.m.To, &r.m.UserID, &r.m.TokenID, &r.m.Data, &r.m.CreatedAt, &r.m.NextAt,
		&r.m.Attempts, &r.sent, &r.m.Failed, &r.leaseUntil, &r.m.LastError}
}

func (r *messageRow) message() outbox.Message {
	m := r.m
	m.Kind = outbox.Kind(r.kind)
	if r.sent != nil {
		m.SentAt = *r.sent
	}
	if r.leaseUntil != nil {
		m.LeaseUntil = *r.leaseUntil
	}
	if m.Data == nil {
		m.Data = map[string]string{}
	}
	return m
}

// DueMessages implements outbox.Store.
func (st *Store) DueMessages(ctx context.Context, now time.Time, limit int) ([]outbox.Message, error) {
	var lim *int
	if limit > 0 {
		lim = &limit
	}
	rows, err := st.DB.Query(ctx, st.q("due_messages"), pgx.NamedArgs{"now": now, "limit": lim})
	if err != nil {
		return nil, fmt.Errorf("postgres: due messages: %w", err)
	}
	defer rows.Close()
	var due []outbox.Message
	for rows.Next() {
		var r messageRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, fmt.Errorf("postgres: due messages: %w", err)
		}
		due = append(due, r.message())
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: due messages: %w", err)
	}
	return due, nil
}

// ClaimMessage implements outbox.Store in one statement (claim_message.sql).
func (st *Store) ClaimMessage(ctx context.Context, id string, now, leaseUntil time.Time) (outbox.Message, error) {
	var claimed bool
	var r messageRow
	err := st.DB.QueryRow(ctx, st.q("claim_message"), pgx.NamedArgs{"id": id, "now": now, "lease": leaseUntil}).
		Scan(append([]any{&claimed}, r.dest()...)...)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return outbox.Message{}, outbox.ErrNotFound
	case err != nil:
		return outbox.Message{}, fmt.Errorf("postgres: claim message %s: %w", id, err)
	case !claimed:
		return outbox.Message{}, outbox.ErrClaimed
	}
	return r.message(), nil
}

// MarkSent implements outbox.Store in one statement (mark_sent.sql).
func (st *Store) MarkSent(ctx context.Context, id string, leaseUntil, now time.Time) error {
	return st.mark(ctx, "mark_sent", id, leaseUntil, pgx.NamedArgs{"now": now})
}

// MarkFailed implements outbox.Store in one statement (mark_failed.sql).
func (st *Store) MarkFailed(ctx context.Context, id string, leaseUntil, nextAt time.Time, permanent bool, reason string) error {
	return st.mark(ctx, "mark_failed", id, leaseUntil, pgx.NamedArgs{"next_at": nextAt, "permanent": permanent, "reason": reason})
}

func (st *Store) mark(ctx context.Context, query, id string, leaseUntil time.Time, args pgx.NamedArgs) error {
	if leaseUntil.IsZero() {
		return outbox.ErrClaimed
	}
	args["id"], args["lease"] = id, leaseUntil
	var marked, resent, found bool
	if err := st.DB.QueryRow(ctx, st.q(query), args).Scan(&marked, &resent, &found); err != nil {
		return fmt.Errorf("postgres: %s %s: %w", query, id, err)
	}
	switch {
	case marked || resent:
		return nil
	case !found:
		return outbox.ErrNotFound
	}
	return outbox.ErrClaimed
}
