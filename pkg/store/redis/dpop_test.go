package redis_test

import (
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/dpop"
	"github.com/rotor-auth/rotor/pkg/store/redis"
	"github.com/rotor-auth/rotor/pkg/store/storetest"
)

func TestDPoPProofsContract(t *testing.T) {
	storetest.RunDPoPProofs(t, func(t *testing.T) dpop.ReplayCache {
		st, _ := newStore(t)
		return st
	})
}

// TestDPoPProofsContractCluster: the spend's one key is in the namespace's
// slot, so the script runs on a cluster.
func TestDPoPProofsContractCluster(t *testing.T) {
	srv := testenv.PrivateRedisCluster(t)
	c := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: []string{"127.0.0.1:" + srv.Port}, Password: srv.Password})
	t.Cleanup(func() { c.Close() })
	storetest.RunDPoPProofs(t, func(t *testing.T) dpop.ReplayCache { return redis.New(c, testenv.RedisNamespace(t)) })
}
