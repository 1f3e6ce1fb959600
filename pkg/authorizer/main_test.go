package authorizer_test

import (
	"testing"

	"github.com/rotor-auth/rotor/internal/testenv"
)

// TestMain stops the private moto_server the replay tests start.
func TestMain(m *testing.M) { testenv.Main(m) }
