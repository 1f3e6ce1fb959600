package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rotor-auth/rotor/pkg/apierr"
	"github.com/rotor-auth/rotor/pkg/onetime"
	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/sessions"
	"github.com/rotor-auth/rotor/pkg/throttle"
)

// errNoAccounts means the service was built without an AccountStore: the
// routes that mail cannot run.
var errNoAccounts = errors.New("auth: no account store")

// Data keys of the messages the flows write (outbox.Message.Data).
const (
	// DataTokenPurpose names the onetime.Purpose of the message's TokenID:
	// the sender mints the link's token with onetime.Mint(ring, purpose,
	// TokenID).
	DataTokenPurpose = onetime.PurposeKey
	DataIP           = "ip"
	DataUserAgent    = "user_agent"
	DataAt           = "at" // RFC 3339, UTC
	DataUsername     = "username"
	DataNewEmail     = "new_email" // masked (MaskEmail): a notice never hands the new address to whoever reads the old one
)

func (s *Service) accounts() (AccountStore, error) {
	if s.Accounts == nil {
		return nil, apierr.Internal.With(errNoAccounts)
	}
	return s.Accounts, nil
}

// message returns a new outbox message of kind k to address to, about user
// userID, carrying the token of rec when rec is not nil, with the when and
// from where of c.
func (s *Service) message(k outbox.Kind, to, userID, username string, rec *onetime.Record, c Client, now time.Time) (outbox.Message, error) {
	r := s.Rand
	if r == nil {
		r = rand.Reader
	}
	b := make([]byte, 16)
	if _, err := io.ReadFull(r, b); err != nil {
		return outbox.Message{}, apierr.Internal.With(fmt.Errorf("auth: message id: %w", err))
	}
	// The IP and user agent come from the request, any bytes: kept as a
	// session keeps them (valid UTF-8, bounded), so every store can write
	// them (PostgreSQL refuses text that is not UTF-8) and a mail shows
	// what the owner's session list would.
	meta := sessions.Meta{IP: c.IP, UserAgent: c.UserAgent}.Sanitized()
	m := outbox.Message{
		ID: "msg_" + base64.RawURLEncoding.EncodeToString(b), Kind: k, To: to, UserID: userID,
		Data:      map[string]string{DataIP: meta.IP, DataUserAgent: meta.UserAgent, DataAt: now.UTC().Format(time.RFC3339), DataUsername: username},
		CreatedAt: now, NextAt: now,
	}
	if rec != nil {
		m.TokenID, m.Data[DataTokenPurpose] = rec.ID, string(rec.Purpose)
	}
	return m, nil
}

// newRecord returns a fresh one-time token record.
func (s *Service) newRecord(p onetime.Purpose, userID, username string, epoch int64, email string, now time.Time) (onetime.Record, error) {
	rec, err := onetime.New(p, userID, username, epoch, email, now, s.Rand)
	if err != nil {
		return onetime.Record{}, apierr.Internal.With(err)
	}
	return rec, nil
}

// mailCounters throttle the mail sent to one address (whoever asks for it)
// and the mail asked for from one source address (an IPv4 address or an
// IPv6 /64), under the mail policies: first the recipient's, then the
// source's. Each mail takes a slot under both and never gives it back, so a
// stranger gets a bounded, slowing stream of mail to any address, not a
// flood.
func (s *Service) mailCounters(to string, c Client) []throttle.Counter {
	return []throttle.Counter{
		{Key: "mail#to#" + to, Policy: s.MailThrottle},
		{Key: "mail#" + throttle.IPKey(c.IP), Policy: s.MailIPThrottle},
	}
}

// reserveMail takes a mail's slots. A locked source address is refused with
// 429 (it says nothing about any account). A locked recipient is not: ok is
// false, the caller sends nothing and answers as if it had, since a
// recipient's lock would tell a stranger the account exists.
func (s *Service) reserveMail(ctx context.Context, counters []throttle.Counter, now time.Time, attrs ...any) (ok bool, err error) {
	res, err := s.Attempts.Reserve(ctx, counters, now)
	if err != nil {
		return false, storeError(err)
	}
	if res.OK {
		return true, nil
	}
	for i := range counters {
		counters[i].State = res.States[i]
	}
	if counters[1].Policy.Locked(counters[1].State, now) {
		return false, s.refused(ctx, counters[1:], throttle.Reservation{States: res.States[1:]}, now, attrs...)
	}
	s.log().WarnContext(ctx, "mail throttled", append([]any{"event", "mail_throttled", "throttle", "recipient", "failures", counters[0].State.Failures}, attrs...)...)
	return false, nil
}

// MaskEmail shows enough of an address for its owner to recognise it and
// little for anyone else: the first character of the local part and the
// domain.
func MaskEmail(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 {
		return "…"
	}
	_, n := utf8.DecodeRuneInString(addr)
	return addr[:n] + "…" + addr[at:]
}
