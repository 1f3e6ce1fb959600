package storetest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/sessions"
)

// testSessionKey: a session bound to a DPoP key (RFC 9449) keeps its
// thumbprint through every read, listing and rotation; a rotation rotates
// only with that key in the same conditional write, so one without it (no
// key, another key's) fails with the session as it was and changes
// nothing; a bearer session rotates only without a key.
func testSessionKey(t *testing.T, st Store) {
	ctx := context.Background()
	const jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
	const other = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
	s := newSession(t, st, "usr_1")
	s.JKT = jkt
	if err := st.CreateSession(ctx, s, nil); err != nil {
		t.Fatal(err)
	}
	check := func(step string, got sessions.Session) {
		t.Helper()
		if got.JKT != jkt {
			t.Fatalf("%s: jkt %q, want %q", step, got.JKT, jkt)
		}
	}
	unchanged := func(step string) {
		t.Helper()
		got, err := st.GetSession(ctx, s.ID)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		check(step, got)
		if !bytes.Equal(got.TokenHash, s.TokenHash) || got.Rotations != s.Rotations {
			t.Fatalf("%s: the session changed (rotations %d)", step, got.Rotations)
		}
	}
	for _, tc := range []struct{ name, key string }{{"no key", ""}, {"another key", other}} {
		r := rotation(t, s, t0.Add(time.Minute))
		r.JKT = tc.key
		asWas, err := st.RotateSession(ctx, r)
		if !errors.Is(err, sessions.ErrConflict) {
			t.Fatalf("%s: rotate a bound session: %v, want ErrConflict", tc.name, err)
		}
		check(tc.name+": conflict", asWas)
		unchanged(tc.name)
	}
	r := rotation(t, s, t0.Add(2*time.Minute))
	r.JKT = jkt
	got, err := st.RotateSession(ctx, r)
	if err != nil {
		t.Fatalf("rotate with the session's key: %v", err)
	}
	check("rotated", got)
	if !bytes.Equal(got.TokenHash, r.NewHash) {
		t.Fatal("rotated with the key, but the hash is not the new one")
	}
	list, err := st.ListSessions(ctx, s.Username, s.UserID)
	if err != nil || len(list) != 1 {
		t.Fatalf("list: %d sessions, %v", len(list), err)
	}
	check("list", list[0])
	got, _, err = st.GetSessionAndWatermark(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	check("get with watermark", got)

	// A bearer session: a key that came with the refresh is a mismatch too
	// (the manager decides whether to retry without it).
	b := newSession(t, st, "usr_1")
	if err := st.CreateSession(ctx, b, nil); err != nil {
		t.Fatal(err)
	}
	r = rotation(t, b, t0.Add(time.Minute))
	r.JKT = jkt
	asWas, err := st.RotateSession(ctx, r)
	if !errors.Is(err, sessions.ErrConflict) || asWas.JKT != "" {
		t.Fatalf("rotate a bearer session with a key: %v (jkt %q), want ErrConflict", err, asWas.JKT)
	}
	r.JKT = ""
	if got, err := st.RotateSession(ctx, r); err != nil || got.JKT != "" {
		t.Fatalf("rotate a bearer session without a key: %v (jkt %q)", err, got.JKT)
	}
}
