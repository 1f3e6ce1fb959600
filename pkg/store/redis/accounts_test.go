package redis_test

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/auth"
	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/store/redis"
	"github.com/rotor-auth/rotor/pkg/store/storetest"
)

var _ auth.AccountStore = (*redis.Store)(nil)

// waiting reads every message of st's outbox: none of the contract's is ever
// sent, so all of them wait.
func waiting(t *testing.T, st *redis.Store) storetest.Outbox {
	return func() []outbox.Message {
		ms, err := st.DueMessages(testenv.Context(t), time.Now().Add(100*365*24*time.Hour), 0)
		if err != nil {
			t.Fatal(err)
		}
		return ms
	}
}

func TestAccountsContract(t *testing.T) {
	storetest.RunAccounts(t, func(t *testing.T) (storetest.AccountStore, storetest.Outbox) {
		st, _ := newStore(t)
		return st, waiting(t, st)
	})
}

// TestAccountsContractCluster runs the account contract through the cluster
// client: every key a script touches shares the namespace's slot.
func TestAccountsContractCluster(t *testing.T) {
	srv := testenv.PrivateRedisCluster(t)
	c := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: []string{"127.0.0.1:" + srv.Port}, Password: srv.Password})
	t.Cleanup(func() { c.Close() })
	storetest.RunAccounts(t, func(t *testing.T) (storetest.AccountStore, storetest.Outbox) {
		st := redis.New(c, testenv.RedisNamespace(t))
		return st, waiting(t, st)
	})
}

func TestAccountRaces(t *testing.T) {
	storetest.RunAccountRaces(t, func(t *testing.T) (storetest.AccountStore, storetest.Outbox) {
		st, _ := newStore(t)
		return st, waiting(t, st)
	})
}

// TestAccountRoundTrips: every account operation is one EVALSHA (or HGETALL).
func TestAccountRoundTrips(t *testing.T) {
	st, c := newStore(t)
	var count commands
	c.AddHook(&count)
	if err := st.Load(testenv.Context(t)); err != nil {
		t.Fatal(err)
	}
	storetest.AccountRoundTrips(t, st, func() int64 { return count.n.Swap(0) }, storetest.OneRoundTripEach())
}

// TestAccountsContractACLUser runs the account contract as the ACL user of
// TestContractACLUser: the account scripts touch no key outside Rotor's.
func TestAccountsContractACLUser(t *testing.T) {
	ctx := testenv.Context(t)
	admin := testenv.RedisClient(t, testenv.RedisURL(t))
	const pw = "acl-user-password"
	if err := admin.Do(ctx, "ACL", "SETUSER", "rotor-acl-accounts", "reset", "on", ">"+pw,
		"~{aclacc-*}:*", "-@all", "+@read", "+@write", "+@scripting", "+@connection").Err(); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword("rotor-acl-accounts", pw)
	c := testenv.RedisClient(t, u.String())
	if err := c.Set(ctx, "{other}:x", "1", 0).Err(); err == nil {
		t.Fatal("the ACL user wrote outside its keys: the test proves nothing")
	}
	n := 0
	storetest.RunAccounts(t, func(t *testing.T) (storetest.AccountStore, storetest.Outbox) {
		n++
		st := redis.New(c, fmt.Sprintf("aclacc-%d", n))
		return st, waiting(t, st)
	})
}
