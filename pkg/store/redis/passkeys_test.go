package redis_test

import (
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/store/redis"
	"github.com/rotor-auth/rotor/pkg/store/storetest"
)

func TestPasskeysContract(t *testing.T) {
	storetest.RunPasskeys(t, func(t *testing.T) (storetest.PasskeyStore, storetest.Outbox) {
		st, _ := newStore(t)
		return st, waiting(t, st)
	})
}

// TestPasskeysContractCluster runs the passkeys contract through the cluster
// client: every key a script touches shares the namespace's slot.
func TestPasskeysContractCluster(t *testing.T) {
	srv := testenv.PrivateRedisCluster(t)
	c := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: []string{"127.0.0.1:" + srv.Port}, Password: srv.Password})
	t.Cleanup(func() { c.Close() })
	storetest.RunPasskeys(t, func(t *testing.T) (storetest.PasskeyStore, storetest.Outbox) {
		st := redis.New(c, testenv.RedisNamespace(t))
		return st, waiting(t, st)
	})
}
