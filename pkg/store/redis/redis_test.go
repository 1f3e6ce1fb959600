package redis_test

import (
	"net/url"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/store/redis"
	"github.com/rotor-auth/rotor/pkg/store/storetest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// newStore returns a store on the test's private server, under a namespace
// of the test's own.
func newStore(t *testing.T) (*redis.Store, *goredis.Client) {
	t.Helper()
	c := testenv.RedisClient(t, testenv.RedisURL(t))
	return redis.New(c, testenv.RedisNamespace(t)), c
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { st, _ := newStore(t); return st })
}

// TestContractCluster runs the contract through the cluster client against
// a one-node Redis Cluster, which refuses a script whose keys span slots as
// ElastiCache Serverless does: every key of the store shares one hash tag.
func TestContractCluster(t *testing.T) {
	srv := testenv.PrivateRedisCluster(t)
	c := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: []string{"127.0.0.1:" + srv.Port}, Password: srv.Password})
	t.Cleanup(func() { c.Close() })
	storetest.Run(t, func(t *testing.T) storetest.Store { return redis.New(c, testenv.RedisNamespace(t)) })
}

// TestContractACLUser runs the contract as an ACL user confined to Rotor's
// keys and the command categories docs/DEPLOY.md gives the ElastiCache user:
// the scripts touch no other key and need no other command.
func TestContractACLUser(t *testing.T) {
	ctx := testenv.Context(t)
	admin := testenv.RedisClient(t, testenv.RedisURL(t))
	const pw = "acl-user-password"
	if err := admin.Do(ctx, "ACL", "SETUSER", "rotor-acl", "reset", "on", ">"+pw,
		"~{acl-*}:*", "-@all", "+@read", "+@write", "+@scripting", "+@connection").Err(); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword("rotor-acl", pw)
	c := testenv.RedisClient(t, u.String())
	if err := c.Set(ctx, "{other}:x", "1", 0).Err(); err == nil {
		t.Fatal("the ACL user wrote outside its keys: the test proves nothing")
	}
	// A fresh namespace per store, also across runs of one test binary
	// (go test -count, scripts/stress.sh), under the ACL's key pattern.
	storetest.Run(t, func(t *testing.T) storetest.Store {
		return redis.New(c, "acl-"+testenv.RedisNamespace(t))
	})
	storetest.RunOutbox(t, func(t *testing.T) storetest.OutboxStore {
		return redis.New(c, "acl-"+testenv.RedisNamespace(t))
	})
}

func TestOutboxContract(t *testing.T) {
	storetest.RunOutbox(t, func(t *testing.T) storetest.OutboxStore { st, _ := newStore(t); return st })
}

// TestOutboxContractCluster: the outbox's scripts keep to one hash slot.
func TestOutboxContractCluster(t *testing.T) {
	srv := testenv.PrivateRedisCluster(t)
	c := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: []string{"127.0.0.1:" + srv.Port}, Password: srv.Password})
	t.Cleanup(func() { c.Close() })
	storetest.RunOutbox(t, func(t *testing.T) storetest.OutboxStore { return redis.New(c, testenv.RedisNamespace(t)) })
}
