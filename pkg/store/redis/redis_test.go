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

// TestContractCluster runs the contract through the cluster client against
// a one-node Redis Cluster, which refuses a script whose keys span slots as
// ElastiCache Serverless does: every key of the store shares one hash tag.
func TestContractCluster(t *testing.T) {
	srv, err := testenv.StartRedisCluster()
	if err != nil {
		t.Fatalf("redis-server is required: %v", err)
	}
	t.Cleanup(srv.Stop)
	c := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: []string{"127.0.0.1:" + srv.Port}, Password: srv.Password})
	t.Cleanup(func() { c.Close() })
	storetest.Run(t, func(t *testing.T) storetest.Store { return redis.New(c, testenv.RedisNamespace(t)) })
}
