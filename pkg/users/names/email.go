package names

import (
	"errors"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxEmailLen bounds an address, in bytes after normalisation (RFC 5321's
// path limit less the angle brackets).
const MaxEmailLen = 254

// ErrBadEmail means the text is not an address Rotor accepts.
var ErrBadEmail = errors.New("names: email must be one address local@domain, at most 254 bytes, without spaces or a display name")

// NormalizeEmail returns the one stored spelling of an address: NFC, the
// domain lower-cased, the local part as given (some mail systems tell
// "Bob" from "bob"). It accepts a plain addr-spec only: no display name,
// no comment, no quoted local part, no spaces or control characters.
func NormalizeEmail(s string) (string, error) {
	if !utf8.ValidString(s) || len(s) > 4*MaxEmailLen {
		return "", ErrBadEmail
	}
	s = norm.NFC.String(s)
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || len(s) > MaxEmailLen {
		return "", ErrBadEmail
	}
	local, domain := s[:at], strings.ToLower(s[at+1:])
	if len(local) > 64 || strings.ContainsAny(local, "@\"\\()<>[],;:") {
		return "", ErrBadEmail
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError {
			return "", ErrBadEmail
		}
	}
	for _, label := range strings.Split(domain, ".") {
		if label == "" || len(label) > 63 || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return "", ErrBadEmail
		}
		for _, r := range label {
			if r != '-' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				return "", ErrBadEmail
			}
		}
	}
	out := norm.NFC.String(local + "@" + domain)
	a, err := mail.ParseAddress(out)
	if err != nil || a.Name != "" || a.Address != out {
		return "", ErrBadEmail
	}
	return out, nil
}
