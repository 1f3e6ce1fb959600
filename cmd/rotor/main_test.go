package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/rotor-auth/rotor/internal/testenv"
)

// TestLinksEveryStore: the operator's CLI is built with plain `go build`
// (no rotor_nopostgres / rotor_noredis tags, which the Makefile sets only
// for the functions from ROTOR_STORES), so one binary operates a stack of
// any Store: --stack reads which from the stack.
func TestLinksEveryStore(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "./cmd/rotor")
	cmd.Dir = testenv.RepoRoot()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps ./cmd/rotor: %v", err)
	}
	deps := strings.Fields(string(out))
	for _, p := range []string{"store/dynamo", "store/postgres", "store/redis"} {
		if !slices.Contains(deps, "github.com/rotor-auth/rotor/pkg/"+p) {
			t.Errorf("cmd/rotor does not link pkg/%s: rotor --stack cannot operate that store", p)
		}
	}
}
