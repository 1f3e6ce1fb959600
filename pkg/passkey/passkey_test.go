package passkey_test

import (
	"errors"
	"testing"

	"github.com/rotor-auth/rotor/pkg/passkey"
)

func TestHashChallenge(t *testing.T) {
	a, b := passkey.HashChallenge([]byte("one")), passkey.HashChallenge([]byte("two"))
	if len(a) != 64 || a == b || a != passkey.HashChallenge([]byte("one")) {
		t.Fatalf("hashes %q %q", a, b)
	}
}

func TestRecord(t *testing.T) {
	r := passkey.Record{Username: "alice", AAGUID: "00ff", Transports: []string{"usb"}, BackupEligible: true, Key: []byte(`{"id":"AA"}`)}
	data, err := r.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := passkey.DecodeRecord(data)
	if err != nil || got.Username != "alice" || got.AAGUID != "00ff" || !got.BackupEligible || string(got.Key) != `{"id":"AA"}` {
		t.Fatalf("%+v, %v", got, err)
	}
	for _, bad := range []string{``, `{}`, `{"username":"a"}`, `[`} {
		if _, err := passkey.DecodeRecord([]byte(bad)); !errors.Is(err, passkey.ErrMalformedRecord) {
			t.Errorf("%q: %v, want ErrMalformedRecord", bad, err)
		}
	}
}
