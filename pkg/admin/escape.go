package admin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf16"
)

// unsafeForTerminal reports whether r must not reach an operator's terminal
// as it is: a control character (C0, DEL, C1: escape sequences that move the
// cursor, retitle the window, clear the screen), a format character (bidi
// overrides and isolates such as U+202E and U+2066, zero-width characters,
// soft hyphens: text that reads other than it is), or a line or paragraph
// separator. Everything Rotor prints that came from a request (user agents,
// addresses, log fields) may hold them.
func unsafeForTerminal(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
}

// printable shortens s to about n bytes and replaces every character
// unsafeForTerminal with '?', so text a client chose cannot rewrite or
// reorder the operator's terminal. Every table of the CLI (sessions list,
// events) prints outside text through it.
func printable(s string, n int) string {
	var b strings.Builder
	for i, r := range s {
		if i >= n {
			b.WriteString("…")
			break
		}
		if unsafeForTerminal(r) {
			r = '?'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// writeJSON writes v as one line of JSON in which every character
// unsafeForTerminal is a \u escape: the same string to a JSON reader, and
// nothing a terminal acts on when --json output is read by a person.
// (encoding/json escapes C0 but writes DEL, C1 and format characters as they
// are.)
func writeJSON(w io.Writer, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	for _, r := range string(raw) { // json.Marshal gives valid UTF-8
		if unsafeForTerminal(r) {
			if r1, r2 := utf16.EncodeRune(r); r1 != unicode.ReplacementChar {
				fmt.Fprintf(&b, `\u%04x\u%04x`, r1, r2)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
			continue
		}
		b.WriteRune(r)
	}
	b.WriteByte('\n')
	_, err = w.Write(b.Bytes())
	return err
}
