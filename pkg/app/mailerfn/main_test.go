package mailerfn_test

import (
	"testing"

	"github.com/rotor-auth/rotor/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
