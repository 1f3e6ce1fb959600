package redis_test

import (
	"os"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/store/redis"
	"github.com/rotor-auth/rotor/pkg/store/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.Stop()
	os.Exit(code)
}

// newStore returns a store on the test's private server, under a namespace
// of the test's own.
func newStore(t *testing.T) (*redis.Store, *goredis.Client) {
	t.Helper()
	opt, err := goredis.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return redis.New(c, testenv.RedisNamespace(t)), c
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { st, _ := newStore(t); return st })
}
