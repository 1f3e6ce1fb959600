package names

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/secure/precis"

	"github.com/rotor-auth/rotor/pkg/users"
)

// Normalize returns the stored form of a username, so that spellings a
// person cannot tell apart never become two accounts:
//
//   - surrounding white space is trimmed, then PRECIS UsernameCaseMapped
//     (RFC 8265 §3.3) applies: fullwidth forms map to their usual width,
//     upper case to lower case (not case folding: "straße" stays distinct
//     from "strasse"), NFC, and the IdentifierClass and Bidi rules;
//   - only letters, combining marks, digits and . _ - @ + remain allowed;
//   - every letter, mark and digit comes from one Unicode script (Common
//     and Inherited aside), so a Cyrillic "а" cannot stand in a Latin name;
//   - the result is 3 to 64 bytes long.
//
// Names made wholly of one script's look-alikes of another name (all-Cyrillic
// "аре", Latin "ɑdmin") pass here: they are told apart by their Skeleton,
// which the stores keep unique.
func Normalize(username string) (string, error) {
	in := strings.TrimSpace(username)
	if !utf8.ValidString(in) || len(in) > 4*users.MaxUsernameLen {
		return "", users.ErrBadUsername
	}
	u, err := precis.UsernameCaseMapped.String(in)
	if err != nil {
		return "", fmt.Errorf("%w: %v", users.ErrBadUsername, err)
	}
	if len(u) < users.MinUsernameLen || len(u) > users.MaxUsernameLen {
		return "", users.ErrBadUsername
	}
	script := ""
	for _, r := range u {
		if !unicode.IsLetter(r) && !unicode.IsMark(r) && !unicode.IsDigit(r) && !strings.ContainsRune("._-@+", r) {
			return "", users.ErrBadUsername
		}
		s := scriptOf(r)
		switch {
		case s == "Common" || s == "Inherited":
		case script == "":
			script = s
		case s != script:
			return "", users.ErrMixedScripts
		}
	}
	return u, nil
}

// scriptOf names the Unicode script of r ("Common" when none matches).
func scriptOf(r rune) string {
	if r < utf8.RuneSelf {
		if unicode.IsLetter(r) {
			return "Latin"
		}
		return "Common"
	}
	for name, table := range unicode.Scripts {
		if unicode.Is(table, r) {
			return name
		}
	}
	return "Common"
}
