package postgres_test

import (
	"testing"

	"github.com/rotor-auth/rotor/pkg/dpop"
	"github.com/rotor-auth/rotor/pkg/store/storetest"
)

func TestDPoPProofsContract(t *testing.T) {
	storetest.RunDPoPProofs(t, func(t *testing.T) dpop.ReplayCache {
		st, _ := newStore(t, "")
		return st
	})
}
