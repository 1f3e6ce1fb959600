package admin_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/rotor-auth/rotor/pkg/admin"
	"github.com/rotor-auth/rotor/pkg/store/memory"
	"github.com/rotor-auth/rotor/pkg/users"
)

// FuzzUsersLockArgs: whatever follows "rotor users lock" (arguments split at
// NUL), the command exits 0 only if it locked exactly one user, and touches
// nothing when it does not; it never panics. Users named -help and --yes
// exist, as the username rules allow.
func FuzzUsersLockArgs(f *testing.F) {
	for _, seed := range []string{
		"-help\x00--yes", "--yes\x00-help", "bob\x00-h\x00--yes", "--\x00-help\x00--yes",
		"--yes\x00--\x00--yes", "--yes\x00--\x00-help", "bob\x00--yes", "--yes=true\x00bob",
		"--yes=false\x00bob", "--json\x00--yes\x00--\x00bob", "---yes\x00bob", "-\x00--yes",
		"--stack\x00--yes\x00bob", "--user\x00bob\x00--yes",
	} {
		f.Add(seed)
	}
	names := []string{"-help", "--yes", "bob"}
	f.Fuzz(func(t *testing.T, in string) {
		st := memory.New()
		ctx := context.Background()
		for _, n := range names {
			if err := st.CreateUser(ctx, users.User{ID: "usr_" + n, Username: n, PasswordHash: "$argon2id$x"}); err != nil {
				t.Fatal(err)
			}
		}
		a := &admin.Admin{Store: st, Caller: "local", Log: discard()}
		var out bytes.Buffer
		c := &admin.CLI{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out,
			Open: func(context.Context, string) (*admin.Admin, error) { return a, nil }}
		code := c.Run(ctx, append([]string{"users", "lock"}, strings.Split(in, "\x00")...))
		locked := 0
		for _, n := range names {
			if u, _ := st.GetUser(ctx, n); u.Locked {
				locked++
			}
		}
		if (code == admin.ExitOK) != (locked == 1) || locked > 1 {
			t.Fatalf("users lock %q: exit %d with %d user(s) locked; output %q", strings.Split(in, "\x00"), code, locked, out.String())
		}
	})
}
