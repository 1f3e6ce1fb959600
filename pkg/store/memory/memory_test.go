package memory_test

import (
	"testing"

	"github.com/rotor-auth/rotor/pkg/store/memory"
	"github.com/rotor-auth/rotor/pkg/store/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(*testing.T) storetest.Store { return memory.New() })
}

func TestOutboxContract(t *testing.T) {
	storetest.RunOutbox(t, func(*testing.T) storetest.OutboxStore { return memory.New() })
}
