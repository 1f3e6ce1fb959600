package token

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/asn1"
	"errors"
	"math/big"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// fixedES256Key is a constant P-256 key, so inputs the fuzzer saves (a message
// and its signature) verify the same way on every run.
func fixedES256Key(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	d := bytes.Repeat([]byte{0x5a}, 32)
	k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// signedWhere signs msg until the signature's r‖s satisfies want (ECDSA
// signatures are random): how the tests get leading-zero and high-bit values.
func signedWhere(t testing.TB, k *ecdsa.PrivateKey, msg string, want func(sig []byte) bool) []byte {
	t.Helper()
	for range 20000 {
		sig, err := jwt.SigningMethodES256.Sign(msg, k)
		if err != nil {
			t.Fatal(err)
		}
		if want(sig) {
			return sig
		}
	}
	t.Fatal("no signature of the wanted shape in 20000 tries")
	return nil
}

// TestES256AgreesWithGolangJWT: es256 accepts and refuses exactly what
// golang-jwt's ES256 does, including the signatures whose r or s has a leading
// zero byte or a high bit (where the ASN.1 encoding changes length), the
// malleable twin (r, n−s), and every way a signature or key can be wrong.
func TestES256AgreesWithGolangJWT(t *testing.T) {
	k := fixedES256Key(t)
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	const msg = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0"
	any64 := func([]byte) bool { return true }
	good := signedWhere(t, k, msg, any64)
	n := elliptic.P256().Params().N
	with := func(sig []byte, r, s *big.Int) []byte {
		out := append([]byte(nil), sig...)
		if r != nil {
			r.FillBytes(out[:32])
		}
		if s != nil {
			s.FillBytes(out[32:])
		}
		return out
	}
	sOf := func(sig []byte) *big.Int { return new(big.Int).SetBytes(sig[32:]) }
	flipped := append([]byte(nil), good...)
	flipped[40] ^= 1
	tests := []struct {
		name string
		msg  string
		sig  []byte
		key  any
		want bool
	}{
		{"genuine", msg, good, &k.PublicKey, true},
		{"r with a leading zero byte", msg, signedWhere(t, k, msg, func(s []byte) bool { return s[0] == 0 }), &k.PublicKey, true},
		{"s with a leading zero byte", msg, signedWhere(t, k, msg, func(s []byte) bool { return s[32] == 0 }), &k.PublicKey, true},
		{"r and s with the high bit", msg, signedWhere(t, k, msg, func(s []byte) bool { return s[0]&0x80 != 0 && s[32]&0x80 != 0 }), &k.PublicKey, true},
		{"r and s without the high bit", msg, signedWhere(t, k, msg, func(s []byte) bool { return s[0]&0x80 == 0 && s[32]&0x80 == 0 }), &k.PublicKey, true},
		{"malleable twin (r, n-s)", msg, with(good, nil, new(big.Int).Sub(n, sOf(good))), &k.PublicKey, true},
		{"another message", msg + "x", good, &k.PublicKey, false},
		{"another key", msg, good, &other.PublicKey, false},
		{"one bit flipped", msg, flipped, &k.PublicKey, false},
		{"r = 0", msg, with(good, big.NewInt(0), nil), &k.PublicKey, false},
		{"s = 0", msg, with(good, nil, big.NewInt(0)), &k.PublicKey, false},
		{"r = n", msg, with(good, n, nil), &k.PublicKey, false},
		{"s = n", msg, with(good, nil, n), &k.PublicKey, false},
		{"s + n, 33 bytes", msg, append(good[:32:32], new(big.Int).Add(sOf(good), n).Bytes()...), &k.PublicKey, false},
		{"63 bytes", msg, good[:63], &k.PublicKey, false},
		{"65 bytes", msg, append(append([]byte(nil), good...), 0), &k.PublicKey, false},
		// A second spelling of the genuine signature: s with a leading zero
		// byte is still s once its INTEGER is made minimal, so only the exact
		// length check refuses it (RFC 7518 §3.4: exactly 64 bytes).
		{"65 bytes r‖0x00‖s", msg, spliced(good[:32], []byte{0}, good[32:]), &k.PublicKey, false},
		{"66 bytes r‖0x00 0x00‖s", msg, spliced(good[:32], []byte{0, 0}, good[32:]), &k.PublicKey, false},
		{"empty", msg, nil, &k.PublicKey, false},
		{"the ASN.1 form golang-jwt never takes", msg, mustASN1(t, good), &k.PublicKey, false},
		{"P-384 key", msg, good, &p384.PublicKey, false},
		{"private key for a public one", msg, good, k, false},
		{"public key by value", msg, good, k.PublicKey, false},
		{"HMAC secret", msg, good, []byte("secret"), false},
		{"nil key", msg, good, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			theirs := jwt.SigningMethodES256.Verify(tc.msg, tc.sig, tc.key)
			ours := es256{}.Verify(tc.msg, tc.sig, tc.key)
			if (theirs == nil) != tc.want {
				t.Fatalf("golang-jwt says %v; the test expects accepted=%v", theirs, tc.want)
			}
			if (ours == nil) != tc.want {
				t.Fatalf("es256 says %v; golang-jwt says %v", ours, theirs)
			}
			if ours != nil && !errors.Is(ours, jwt.ErrECDSAVerification) && !errors.Is(ours, jwt.ErrInvalidKeyType) {
				t.Errorf("es256 error %v is not one of golang-jwt's", ours)
			}
		})
	}
}

// spliced returns the concatenation of parts in a new slice.
func spliced(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func mustASN1(t *testing.T, sig []byte) []byte {
	t.Helper()
	der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestASN1SignatureIsDER: asn1Signature writes what encoding/asn1 writes for
// the same two integers, for every length an INTEGER of 32 bytes can take.
func TestASN1SignatureIsDER(t *testing.T) {
	values := [][]byte{make([]byte, 32), append(make([]byte, 31), 1), append(make([]byte, 31), 0x80)}
	for lead := range 32 {
		for _, top := range []byte{0x01, 0x7f, 0x80, 0xff} {
			v := make([]byte, 32)
			v[lead], v[31] = top, 0x42
			values = append(values, v)
		}
	}
	for _, r := range values {
		for _, s := range values {
			want, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(r), new(big.Int).SetBytes(s)})
			if err != nil {
				t.Fatal(err)
			}
			if got := asn1Signature(nil, r, s); !bytes.Equal(got, want) {
				t.Fatalf("asn1Signature(%x, %x) = %x; encoding/asn1 gives %x", r, s, got, want)
			}
		}
	}
}

// FuzzES256AgreesWithGolangJWT: on any message and signature, es256 and
// golang-jwt's ES256 give the same verdict under the same key.
func FuzzES256AgreesWithGolangJWT(f *testing.F) {
	k := fixedES256Key(f)
	for _, msg := range []string{"", "a.b", "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0"} {
		sig, err := jwt.SigningMethodES256.Sign(msg, k)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(msg, sig)
		f.Add(msg, sig[:63])
		f.Add(msg, make([]byte, 64))
	}
	f.Fuzz(func(t *testing.T, msg string, sig []byte) {
		theirs := jwt.SigningMethodES256.Verify(msg, sig, &k.PublicKey)
		ours := es256{}.Verify(msg, sig, &k.PublicKey)
		if (theirs == nil) != (ours == nil) {
			t.Fatalf("golang-jwt says %v, es256 says %v, for %q signed %x", theirs, ours, msg, sig)
		}
	})
}
