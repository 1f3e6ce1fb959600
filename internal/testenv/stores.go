package testenv

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

	"github.com/rotor-auth/rotor/pkg/store/dynamo"
	"github.com/rotor-auth/rotor/pkg/store/postgres/schema"
)

// DynamoTables creates, on db, the tables of a store under names unique
// to this test.
func DynamoTables(t testing.TB, db dynamo.AdminAPI) dynamo.Tables {
	t.Helper()
	tables := dynamo.Tables{Users: Name(t, "users"), Sessions: Name(t, "sessions"), Attempts: Name(t, "attempts"), Outbox: Name(t, "outbox")}
	if err := dynamo.CreateTables(Context(t), db, tables); err != nil {
		t.Fatal(err)
	}
	return tables
}

// DynamoStore is a DynamoDB store on fresh tables of the test's moto_server,
// and the client it uses.
func DynamoStore(t testing.TB) (*dynamo.Store, *dynamodb.Client) {
	t.Helper()
	db := DynamoDB(t)
	return dynamo.New(db, DynamoTables(t, db)), db
}

// PostgresPool migrates the database of url (package schema) and returns a
// pool of connections to it, closed at the end of the test.
func PostgresPool(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	ctx := Context(t)
	if err := schema.UpURL(ctx, url); err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// RedisClient returns a client of the server at url, closed at the end of the
// test. Like the functions' client (package serverstore), it gives up on a
// command when its context does.
func RedisClient(t testing.TB, url string) *goredis.Client {
	t.Helper()
	opt, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	opt.ContextTimeoutEnabled = true
	c := goredis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

// PrivatePostgres starts a PostgreSQL server of the test's own, which it may
// kill and restart, and stops it at the end of the test. It fails the test
// when the server cannot start: it never skips.
func PrivatePostgres(t testing.TB) *Postgres {
	t.Helper()
	pg, err := StartPostgres()
	if err != nil {
		t.Fatalf("PostgreSQL is required: %v (install with: apt-get install -y postgresql)", err)
	}
	t.Cleanup(pg.Stop)
	return pg
}

// PrivateRedis starts a redis-server of the test's own, which it may kill
// and restart, and stops it at the end of the test. It fails the test when
// the server cannot start: it never skips.
func PrivateRedis(t testing.TB) *Redis {
	t.Helper()
	return privateRedis(t, StartRedis)
}

// PrivateRedisCluster is PrivateRedis for a one-node Redis Cluster (see
// Redis.Cluster).
func PrivateRedisCluster(t testing.TB) *Redis {
	t.Helper()
	return privateRedis(t, StartRedisCluster)
}

func privateRedis(t testing.TB, start func() (*Redis, error)) *Redis {
	t.Helper()
	r, err := start()
	if err != nil {
		t.Fatalf("redis-server is required: %v (install with: apt-get install -y redis-server)", err)
	}
	t.Cleanup(r.Stop)
	return r
}
