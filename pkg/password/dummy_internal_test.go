package password

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"runtime"
	"testing"
)

// TestVerifyDummyUsesARealHash: the dummy must be a well-formed hash with the
// hasher's own parameters, or Verify would return at decode without any
// argon2 work and an unknown user would answer faster than a wrong password.
func TestVerifyDummyUsesARealHash(t *testing.T) {
	for _, params := range []Params{OWASP, {Memory: 64 * 1024, Time: 3, Threads: 2, SaltLen: 24, KeyLen: 48}} {
		h, err := NewHasher(params, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.VerifyDummy(context.Background(), "some password"); !errors.Is(err, ErrMismatch) {
			t.Fatalf("VerifyDummy = %v; want ErrMismatch", err)
		}
		p, salt, key, err := decode(h.dummy)
		if err != nil {
			t.Fatalf("dummy hash %q does not decode: %v", h.dummy, err)
		}
		if p.Memory != h.Params.Memory || p.Time != h.Params.Time || p.Threads != h.Params.Threads {
			t.Errorf("dummy parameters m=%d,t=%d,p=%d; want the hasher's %+v", p.Memory, p.Time, p.Threads, h.Params)
		}
		if len(salt) != int(params.SaltLen) || len(key) != int(params.KeyLen) {
			t.Errorf("dummy salt %d bytes, key %d bytes; want like a stored hash", len(salt), len(key))
		}
	}
}

// TestVerifyDummyDoesArgon2Work measures the work without a clock: argon2id
// allocates its memory cost (m KiB) on every call, so each VerifyDummy must
// allocate at least that much, like Verify of a stored hash does, while a
// refused malformed hash allocates next to nothing.
func TestVerifyDummyDoesArgon2Work(t *testing.T) {
	h, err := NewHasher(OWASP, nil)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := h.Hash(context.Background(), "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	allocated := func(f func()) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	floor := uint64(h.Params.Memory) * 1024
	verify := allocated(func() { _ = h.Verify(context.Background(), "wrong password", stored) })
	dummy := allocated(func() { _ = h.VerifyDummy(context.Background(), "wrong password") })
	malformed := allocated(func() { _ = h.Verify(context.Background(), "wrong password", "$argon2id$v=19$m=19456,t=2,p=1$AAAA") })
	t.Logf("allocated: Verify %d B, VerifyDummy %d B, malformed %d B", verify, dummy, malformed)
	if verify < floor {
		t.Fatalf("Verify allocated %d B; argon2id at m=%d KiB needs at least %d (measure broken?)", verify, h.Params.Memory, floor)
	}
	if dummy < floor {
		t.Errorf("VerifyDummy allocated %d B < %d: it does not run argon2id at the hasher's cost", dummy, floor)
	}
	if malformed >= floor {
		t.Errorf("malformed hash allocated %d B: the measure does not tell work from no work", malformed)
	}
}

// TestVerifyComparesInConstantTime is a review turned into a check: the key
// comparison in Verify must be crypto/subtle's, never bytes.Equal, == or a
// loop that stops at the first difference. (A timing assertion would be
// flaky; TestVerify covers that a last-byte difference is still caught.)
func TestVerifyComparesInConstantTime(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "password.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var verify *ast.FuncDecl
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == "Verify" && fd.Recv != nil {
			verify = fd
		}
	}
	if verify == nil {
		t.Fatal("no (*Hasher).Verify in password.go")
	}
	var constantTime bool
	ast.Inspect(verify.Body, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
			if pkg, ok := sel.X.(*ast.Ident); ok {
				switch pkg.Name + "." + sel.Sel.Name {
				case "subtle.ConstantTimeCompare":
					constantTime = true
				case "bytes.Equal", "bytes.Compare", "slices.Equal", "reflect.DeepEqual":
					t.Errorf("%s: Verify compares keys with %s.%s, which is not constant time", fset.Position(call.Pos()), pkg.Name, sel.Sel.Name)
				}
			}
		}
		return true
	})
	if !constantTime {
		t.Error("Verify does not call subtle.ConstantTimeCompare")
	}
}
