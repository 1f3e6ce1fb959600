package password_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"

	"github.com/rotor-auth/rotor/pkg/password"
)

func newHasher(t testing.TB) *password.Hasher {
	t.Helper()
	h, err := password.NewHasher(password.OWASP, nil)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

var phcRE = regexp.MustCompile(`^\$argon2id\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$`)

type phc struct {
	version, m, t, p int
	salt, key        []byte
}

func parsePHC(t *testing.T, s string) phc {
	t.Helper()
	m := phcRE.FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("%q is not an argon2id PHC string", s)
	}
	var out phc
	for i, dst := range []*int{&out.version, &out.m, &out.t, &out.p} {
		n, err := strconv.Atoi(m[i+1])
		if err != nil {
			t.Fatal(err)
		}
		*dst = n
	}
	var err error
	if out.salt, err = base64.RawStdEncoding.DecodeString(m[5]); err != nil {
		t.Fatal(err)
	}
	if out.key, err = base64.RawStdEncoding.DecodeString(m[6]); err != nil {
		t.Fatal(err)
	}
	return out
}

func encodePHC(p phc) string {
	b64 := base64.RawStdEncoding.EncodeToString
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", p.version, p.m, p.t, p.p, b64(p.salt), b64(p.key))
}

// TestHashFormat parses the stored string back: it must be argon2id at OWASP's
// minimum or above, and the key must be exactly what argon2id gives for those
// parameters (so it is neither argon2i nor a weaker cost than it claims).
func TestHashFormat(t *testing.T) {
	salt := bytes.Repeat([]byte{7}, 16)
	h, err := password.NewHasher(password.OWASP, bytes.NewReader(salt))
	if err != nil {
		t.Fatal(err)
	}
	const pw = "correct horse battery staple"
	s, err := h.Hash(context.Background(), pw)
	if err != nil {
		t.Fatal(err)
	}
	p := parsePHC(t, s)
	if p.version != argon2.Version {
		t.Errorf("v=%d; want %d", p.version, argon2.Version)
	}
	if p.m < 19456 || p.t < 2 || p.p < 1 {
		t.Errorf("m=%d,t=%d,p=%d is below OWASP's m=19456,t=2,p=1", p.m, p.t, p.p)
	}
	if len(p.salt) < 16 || len(p.key) < 32 {
		t.Errorf("salt %d bytes, key %d bytes; want at least 16 and 32", len(p.salt), len(p.key))
	}
	if !bytes.Equal(p.salt, salt) {
		t.Errorf("salt = %x; want the hasher's random bytes %x", p.salt, salt)
	}
	want := argon2.IDKey([]byte(pw), salt, uint32(p.t), uint32(p.m), uint8(p.p), uint32(len(p.key)))
	if !bytes.Equal(p.key, want) {
		t.Error("key is not argon2id of the password with the stated parameters")
	}

	// Fresh salts: the same password never hashes to the same string.
	h2 := newHasher(t)
	a, _ := h2.Hash(context.Background(), pw)
	b, _ := h2.Hash(context.Background(), pw)
	if a == b {
		t.Error("two hashes of one password are equal: salt is not random")
	}
}

func TestNewHasherRefusesWeakParams(t *testing.T) {
	weaker := func(edit func(*password.Params)) password.Params {
		p := password.OWASP
		edit(&p)
		return p
	}
	tests := []struct {
		name string
		p    password.Params
		ok   bool
	}{
		{"OWASP", password.OWASP, true},
		{"stronger", weaker(func(p *password.Params) { p.Memory, p.Time, p.Threads = 64*1024, 3, 4 }), true},
		{"memory 19455 KiB", weaker(func(p *password.Params) { p.Memory = 19455 }), false},
		{"time 1", weaker(func(p *password.Params) { p.Time = 1 }), false},
		{"threads 0", weaker(func(p *password.Params) { p.Threads = 0 }), false},
		{"salt 8 bytes", weaker(func(p *password.Params) { p.SaltLen = 8 }), false},
		{"key 16 bytes", weaker(func(p *password.Params) { p.KeyLen = 16 }), false},
		{"zero", password.Params{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := password.NewHasher(tc.p, nil)
			if tc.ok != (err == nil) || tc.ok != (h != nil) {
				t.Fatalf("NewHasher(%+v) = %v, %v; want ok=%v", tc.p, h, err, tc.ok)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	h := newHasher(t)
	const pw = "correct horse battery staple"
	stored, err := h.Hash(context.Background(), pw)
	if err != nil {
		t.Fatal(err)
	}
	lastByte := parsePHC(t, stored)
	lastByte.key[len(lastByte.key)-1] ^= 1
	firstByte := parsePHC(t, stored)
	firstByte.key[0] ^= 0x80
	other, err := h.Hash(context.Background(), "another password")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, pw, stored string
		want             error
	}{
		{"right password", pw, stored, nil},
		{"wrong password", "correct horse battery stapler", stored, password.ErrMismatch},
		{"case differs", "Correct horse battery staple", stored, password.ErrMismatch},
		{"empty password", "", stored, password.ErrMismatch},
		{"hash of another password", pw, other, password.ErrMismatch},
		{"hash differs in the last byte", pw, encodePHC(lastByte), password.ErrMismatch},
		{"hash differs in the first byte", pw, encodePHC(firstByte), password.ErrMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := h.Verify(context.Background(), tc.pw, tc.stored); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Verify = %v; want %v", err, tc.want)
			}
		})
	}

	// A stored hash made with other (stronger) parameters still verifies: the
	// parameters come from the PHC string, so costs can be raised over time.
	strong, err := password.NewHasher(password.Params{Memory: 32 * 1024, Time: 3, Threads: 2, SaltLen: 16, KeyLen: 32}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := strong.Hash(context.Background(), pw)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Verify(context.Background(), pw, s); err != nil {
		t.Errorf("Verify of a hash with stronger parameters: %v", err)
	}
}

// TestVerifyRefusesMalformed covers stored strings that must be refused before
// any argon2 work: a corrupted row must not make a login allocate gigabytes or
// spin for minutes.
func TestVerifyRefusesMalformed(t *testing.T) {
	h := newHasher(t)
	good := "$argon2id$v=19$m=19456,t=2,p=1$" + base64.RawStdEncoding.EncodeToString(make([]byte, 16)) + "$" + base64.RawStdEncoding.EncodeToString(make([]byte, 32))
	with := func(old, new string) string {
		s := strings.Replace(good, old, new, 1)
		if s == good {
			t.Fatalf("%q not in %q", old, good)
		}
		return s
	}
	tests := []struct{ name, stored string }{
		{"empty", ""},
		{"bcrypt", "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"},
		{"argon2i", with("$argon2id$", "$argon2i$")},
		{"argon2d", with("$argon2id$", "$argon2d$")},
		{"old version", with("v=19", "v=16")},
		{"memory 4 GiB", with("m=19456", "m=4194304")},
		{"memory just over 1 GiB", with("m=19456", "m=1048577")},
		{"memory overflows uint32", with("m=19456", "m=4294967296")},
		{"memory 0", with("m=19456", "m=0")},
		{"time 1000", with("t=2", "t=1000")},
		{"time 17", with("t=2", "t=17")},
		{"time 0", with("t=2", "t=0")},
		{"threads 0", with("p=1", "p=0")},
		{"threads 256", with("p=1", "p=256")},
		{"negative memory", with("m=19456", "m=-1")},
		{"salt not base64", with("$AAAAAAAAAAAAAAAAAAAAAA$", "$!!!!$")},
		{"salt 4 bytes", with("$AAAAAAAAAAAAAAAAAAAAAA$", "$AAAAAA$")},
		{"key 8 bytes", good[:strings.LastIndex(good, "$")+1] + "AAAAAAAAAAA"},
		{"extra field", good + "$AAAA"},
		{"missing key", good[:strings.LastIndex(good, "$")]},
	}
	if err := h.Verify(context.Background(), "whatever password", good); !errors.Is(err, password.ErrMismatch) {
		t.Fatalf("baseline: Verify = %v; want ErrMismatch (the template must be well formed)", err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := h.Verify(context.Background(), "whatever password", tc.stored); !errors.Is(err, password.ErrMalformed) {
				t.Fatalf("Verify(%q) = %v; want ErrMalformed", tc.stored, err)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		pw   string
		want error
	}{
		{"empty", "", password.ErrTooShort},
		{"MinLength-1", strings.Repeat("a", password.MinLength-1), password.ErrTooShort},
		{"MinLength", strings.Repeat("a", password.MinLength), nil},
		{"MaxLength", strings.Repeat("a", password.MaxLength), nil},
		{"MaxLength+1", strings.Repeat("a", password.MaxLength+1), password.ErrTooLong},
		{"1 MB", strings.Repeat("a", 1<<20), password.ErrTooLong},
		{"multi-byte counted in bytes", strings.Repeat("é", password.MinLength/2), nil},
		{"emoji", "🔑🔑🔑🔑", nil},
		{"invalid UTF-8", "password\xff\xfe", password.ErrNotUTF8},
		{"truncated rune", "password\xc3", password.ErrNotUTF8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := password.Check(tc.pw); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Check(%d bytes) = %v; want %v", len(tc.pw), err, tc.want)
			}
		})
	}
}

// TestCheckHugePasswordDoesNoWork: a megabyte password is refused without
// hashing it (argon2 would allocate its memory cost); no allocation at all is
// a non-timing proof of that.
func TestCheckHugePasswordDoesNoWork(t *testing.T) {
	huge := strings.Repeat("x", 1<<20)
	allocs := testing.AllocsPerRun(10, func() {
		if err := password.Check(huge); !errors.Is(err, password.ErrTooLong) {
			t.Fatalf("Check = %v", err)
		}
	})
	if allocs != 0 {
		t.Errorf("Check of 1 MB allocated %v times; want no work at all", allocs)
	}
}

func TestVerifyDummyAlwaysMismatch(t *testing.T) {
	h := newHasher(t)
	for _, pw := range []string{
		"",
		"correct horse battery staple",
		// The password the dummy hash is made of, taken from the source: even
		// knowing it must not log anyone in.
		"rotor dummy password for unknown users",
	} {
		if err := h.VerifyDummy(context.Background(), pw); !errors.Is(err, password.ErrMismatch) {
			t.Errorf("VerifyDummy(%q) = %v; want ErrMismatch", pw, err)
		}
	}
}

func BenchmarkHash(b *testing.B) {
	h := newHasher(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash(context.Background(), "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	h := newHasher(b)
	s, err := h.Hash(context.Background(), "correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := h.Verify(context.Background(), "correct horse battery staple", s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyDummy(b *testing.B) {
	h := newHasher(b)
	b.ReportAllocs()
	for b.Loop() {
		_ = h.VerifyDummy(context.Background(), "correct horse battery staple")
	}
}
