package names

//go:generate sh ../../../scripts/confusables.sh

import (
	"sort"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Skeleton returns the UTS #39 skeleton of a normalised username (the result
// of Normalize): two names with one skeleton look alike, and Rotor holds them
// to be one name, so the second to sign up gets "username taken".
//
// It is UTS #39's skeleton (§4): NFD, each character replaced by its
// prototype from confusables.txt (ConfusablesVersion), NFD again. Removing
// default-ignorable code points, the step UTS #39 adds before mapping, never
// changes a normalised name: PRECIS refuses them. One step is Rotor's own: a
// combining dot above (U+0307) on a soft-dotted letter such as i or j is
// dropped, because the letter's own dot disappears under it and the two look
// like the plain letter ("i̇", what "İ" lower-cases to, is "i").
//
// The data is reductive and case-sensitive, as UTS #39 says: "m" and "rn" are
// one skeleton, as are "l", "1" and "I"; a zero is "O" (capital), so "r00t"
// stays apart from "root", as do "josé" and "jose", "straße" and "strasse".
func Skeleton(name string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(name) {
		if p, ok := prototype(r); ok {
			b.WriteString(p)
		} else {
			b.WriteRune(r)
		}
	}
	return dropDotOnSoftDotted(norm.NFD.String(b.String()))
}

// prototype is r's entry in confusables.txt.
func prototype(r rune) (string, bool) {
	i := sort.Search(len(confusableSources), func(i int) bool { return confusableSources[i] >= r })
	if i == len(confusableSources) || confusableSources[i] != r {
		return "", false
	}
	start := 0
	if i > 0 {
		start = int(confusableEnds[i-1])
	}
	return confusablePrototypes[start:confusableEnds[i]], true
}

// dropDotOnSoftDotted removes each U+0307 COMBINING DOT ABOVE that sits on
// a soft-dotted letter, past marks that are not above it (in NFD those come
// first: canonical order puts lower combining classes first).
func dropDotOnSoftDotted(s string) string {
	if !strings.ContainsRune(s, '\u0307') {
		return s
	}
	var b strings.Builder
	soft := false
	for _, r := range s {
		ccc := norm.NFD.PropertiesString(string(r)).CCC()
		switch {
		case r == '\u0307' && soft:
			continue
		case ccc == 0:
			soft = unicode.Is(unicode.Soft_Dotted, r)
		case ccc == 230: // another mark above: the dot on it would show
			soft = false
		}
		b.WriteRune(r)
	}
	return b.String()
}
