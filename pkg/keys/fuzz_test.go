package keys_test

import (
	"errors"
	"testing"

	"github.com/rotor-auth/rotor/pkg/keys"
)

// FuzzParse: any secret version either parses to a usable key (an id, an
// algorithm, both halves) or is refused with one of the package's errors.
func FuzzParse(f *testing.F) {
	for _, alg := range algs {
		data, err := generate(f, alg).Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{`{}`, `"placeholder"`, `{"kid":"k"}`, `{"kid":"k","alg":"HS256","secret":"AAAA"}`, `{"kid":"k","alg":"ES256","private_key":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}`, `null`, `[]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := keys.Parse(data)
		if err != nil {
			if !errors.Is(err, keys.ErrNoKey) && !errors.Is(err, keys.ErrMalformed) && !errors.Is(err, keys.ErrUnsupported) {
				t.Fatalf("Parse(%q) = %v; not a keys error", data, err)
			}
			return
		}
		if k.ID == "" || k.Alg == "" || k.Private == nil || k.Public == nil {
			t.Fatalf("Parse(%q) = %+v: an incomplete key", data, k)
		}
	})
}
