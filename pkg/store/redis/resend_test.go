package redis_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/onetime"
	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/store/redis"
	"github.com/rotor-auth/rotor/pkg/users"
)

// loseAnswers lets every command reach the server but, for the first lose
// commands containing marker, drops the answer and ends the connection: the
// script ran, the client cannot know it, and go-redis resends it.
type loseAnswers struct {
	mu     sync.Mutex
	marker []byte
	lose   int
	sends  int
}

type lossyConn struct {
	net.Conn
	l    *loseAnswers
	drop bool
}

func (c *lossyConn) Write(b []byte) (int, error) {
	c.l.mu.Lock()
	if bytes.Contains(b, c.l.marker) {
		c.l.sends++
		if c.l.lose > 0 {
			c.l.lose--
			c.drop = true
		}
	}
	c.l.mu.Unlock()
	return c.Conn.Write(b)
}

func (c *lossyConn) Read(b []byte) (int, error) {
	if !c.drop {
		return c.Conn.Read(b)
	}
	// The answer arrives (so the script ran) and is thrown away.
	_, _ = c.Conn.Read(make([]byte, 64<<10))
	c.Conn.Close()
	return 0, io.EOF
}

// TestUseTokenResentUsesOnce: when the answer to a reset's script is lost
// and go-redis resends it, the reset still succeeds (the resend finds the
// record used by this very call: not a second use), the epoch moves once
// and the notice is written once.
func TestUseTokenResentUsesOnce(t *testing.T) {
	ctx := testenv.Context(t)
	src, err := os.ReadFile("lua/use_token.lua")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum(src)
	lossy := &loseAnswers{marker: []byte(hex.EncodeToString(sum[:]))}
	opt, err := goredis.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	opt.Dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &lossyConn{Conn: conn, l: lossy}, nil
	}
	c := goredis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	st := redis.New(c, testenv.RedisNamespace(t))
	if err := st.Load(ctx); err != nil { // so that the use is one EVALSHA
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	u := users.User{ID: "usr_1", Username: "alice", PasswordHash: "$argon2id$old", CreatedAt: t0, UpdatedAt: t0}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	rec, err := onetime.New(onetime.PasswordReset, u.ID, u.Username, 0, "", t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.IssueToken(ctx, rec); err != nil {
		t.Fatal(err)
	}
	notice := outbox.Message{ID: "msg_done", Kind: outbox.PasswordWasReset, To: "a@example.com", UserID: u.ID, CreatedAt: t0}
	lossy.mu.Lock()
	lossy.lose = 1
	lossy.mu.Unlock()
	got, err := st.UseToken(ctx, onetime.Use{Record: rec, Now: t0.Add(time.Minute), PasswordHash: "$argon2id$new", Messages: []outbox.Message{notice}})
	lossy.mu.Lock()
	sends := lossy.sends
	lossy.mu.Unlock()
	if sends < 2 {
		t.Fatalf("%d sends of the script; want a resend for this test to mean anything", sends)
	}
	if err != nil || got.Epoch != 1 || got.PasswordHash != "$argon2id$new" {
		t.Fatalf("a resent reset: %+v, %v; want the reset, epoch 1", got, err)
	}
	if _, err := st.UseToken(ctx, onetime.Use{Record: rec, Now: t0.Add(2 * time.Minute), PasswordHash: "$argon2id$again"}); !errors.Is(err, onetime.ErrUsed) {
		t.Fatalf("a second use: %v, want ErrUsed", err)
	}
	if u, _ := st.GetUser(ctx, "alice"); u.Epoch != 1 || u.PasswordHash != "$argon2id$new" {
		t.Fatalf("user after a resent reset and a second use: %+v", u)
	}
	due, err := st.DueMessages(ctx, t0.Add(time.Hour), 0)
	if err != nil || len(due) != 1 || due[0].ID != notice.ID {
		t.Fatalf("outbox: %+v, %v; want the notice once", due, err)
	}
}
