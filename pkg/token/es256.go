package token

import (
	"crypto/ecdsa"
	"crypto/sha256"

	"github.com/golang-jwt/jwt/v5"
)

// es256 verifies ES256 signatures (RFC 7518 §3.4) for golang-jwt as
// jwt.SigningMethodES256 does, with crypto/ecdsa, but without its per-call
// garbage: golang-jwt turns r and s into big.Ints, which crypto/ecdsa then
// re-encodes as ASN.1 for VerifyASN1; es256 writes that DER once, beside
// the signing input it hashes with sha256.Sum256. Verify's keyfunc hands it to golang-jwt
// for ES256 keys; FuzzES256AgreesWithGolangJWT holds the two to the same
// verdict on every input. Signing stays golang-jwt's.
type es256 struct{}

var _ jwt.SigningMethod = es256{}

// Alg is "ES256".
func (es256) Alg() string { return jwt.SigningMethodES256.Alg() }

// Sign is golang-jwt's ES256 signing.
func (es256) Sign(signingString string, key any) ([]byte, error) {
	return jwt.SigningMethodES256.Sign(signingString, key)
}

// Verify checks sig, the 64-byte r‖s of RFC 7518 §3.4, over signingString
// with key, a P-256 *ecdsa.PublicKey; it returns golang-jwt's errors.
func (es256) Verify(signingString string, sig []byte, key any) error {
	pub, ok := key.(*ecdsa.PublicKey)
	if !ok {
		return jwt.ErrInvalidKeyType
	}
	if len(sig) != 64 {
		return jwt.ErrECDSAVerification
	}
	// One buffer for the signing input's bytes and, after them, the DER
	// signature (at most 72 bytes): VerifyASN1 keeps its argument, so either
	// would be an allocation of its own.
	buf := make([]byte, len(signingString), len(signingString)+72)
	copy(buf, signingString)
	h := sha256.Sum256(buf)
	if !ecdsa.VerifyASN1(pub, h[:], asn1Signature(buf[len(buf):], sig[:32], sig[32:])) {
		return jwt.ErrECDSAVerification
	}
	return nil
}

// asn1Signature appends the DER of ECDSA-Sig-Value (SEQUENCE of INTEGER r,
// INTEGER s; RFC 3279 §2.2.3) for r and s, 32-byte big-endian unsigned
// integers, to out: what crypto/ecdsa.Verify builds from big.Ints. Each
// INTEGER is minimal (no leading zero bytes) and positive (a zero byte before
// a high bit), at most 33 bytes, so every length fits DER's one-byte form.
func asn1Signature(out, r, s []byte) []byte {
	length := func(v []byte) int {
		v = trimZeros(v)
		if v[0]&0x80 != 0 {
			return len(v) + 1
		}
		return len(v)
	}
	integer := func(out, v []byte) []byte {
		v = trimZeros(v)
		out = append(out, 0x02, byte(length(v)))
		if v[0]&0x80 != 0 {
			out = append(out, 0)
		}
		return append(out, v...)
	}
	out = append(out, 0x30, byte(2+length(r)+2+length(s)))
	return integer(integer(out, r), s)
}

// trimZeros drops leading zero bytes but keeps one byte of a zero value.
func trimZeros(v []byte) []byte {
	for len(v) > 1 && v[0] == 0 {
		v = v[1:]
	}
	return v
}
