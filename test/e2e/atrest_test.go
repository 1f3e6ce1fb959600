package e2e

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/jackc/pgx/v5"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/sessions"
)

// TestNothingSecretAtRestSQLAndRedis is TestNothingSecretAtRest for the
// PostgreSQL and Redis stores: after a full flow, every row of every table
// (each read whole as text, bytea as hex) and every key with its value holds
// no password, refresh token or refresh secret, raw or hex-encoded, and the
// only password hash is argon2id at OWASP strength.
func TestNothingSecretAtRestSQLAndRedis(t *testing.T) {
	for _, kind := range []string{"postgres", "redis"} {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, nil, nil)
			secrets := flowSecrets(t, e)
			var records []string // every stored thing, as "where | value"
			if kind == "postgres" {
				// The plain flow sends no mail and issues no link: the
				// recovery tables are TestRecoveryTokensNotAtRest's to scan.
				records = postgresRows(t, e, "outbox", "onetime_tokens", "mfa_factors", "mfa_tokens")
			} else {
				records = redisValues(t, e)
			}
			hashes := 0
			for _, rec := range records {
				for what, s := range secrets {
					if strings.Contains(rec, s) {
						t.Errorf("%s holds the %s", rec[:strings.Index(rec, " | ")], what)
					}
				}
				hashes += strings.Count(rec, "$argon2id$v=19$m=19456,t=2,p=1$")
			}
			if hashes != 1 {
				t.Fatalf("found %d argon2id hashes at OWASP strength, want 1", hashes)
			}
		})
	}
}

// flowSecrets runs a full flow on e (signup, login, refresh, a wrong
// password, an unknown user) and returns, by name, what must never be
// stored: the password, both refresh tokens, their secrets (raw and hex)
// and their bodies.
func flowSecrets(t *testing.T, e *env) map[string]string {
	t.Helper()
	const pw = "correct horse battery"
	e.signup("carol", pw)
	p := e.login("carol", pw)
	p2 := pairOf(t, e.refresh(p.Refresh))
	e.do("POST", "/auth/login", map[string]string{"username": "carol", "password": "wrong password!"})
	e.do("POST", "/auth/login", map[string]string{"username": "nobody", "password": pw})

	secrets := map[string]string{"password": pw, "first refresh token": p.Refresh, "second refresh token": p2.Refresh}
	for name, rt := range map[string]string{"first": p.Refresh, "second": p2.Refresh} {
		tok, err := sessions.ParseRefreshToken(rt)
		if err != nil {
			t.Fatal(err)
		}
		secrets[name+" refresh secret"] = string(tok.Secret)
		secrets[name+" refresh secret (hex)"] = hex.EncodeToString(tok.Secret)
		secrets[name+" refresh token body"] = strings.TrimPrefix(rt, sessions.TokenPrefix)
	}
	return secrets
}

// postgresRows reads every row of every table of the test's schema as text;
// each must hold rows but the tables named in mayBeEmpty.
func postgresRows(t *testing.T, e *env, mayBeEmpty ...string) []string {
	ctx := testenv.Context(t)
	rows, err := e.pg.Query(ctx, "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'")
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, table := range tables {
		rows, err := e.pg.Query(ctx, "SELECT t::text FROM "+pgx.Identifier{table}.Sanitize()+" t")
		if err != nil {
			t.Fatal(err)
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		// revocation holds one time, and only after a revoke-all.
		// The passkey tables fill only in a passkey flow, whose own scan
		// (TestPasskeySecretsNotAtRest) requires their rows; the DPoP
		// proofs table only in a DPoP flow (TestDPoPNothingAtRest).
		if len(got) == 0 && table != "rotor_schema_version" && table != "revocation" && !slices.Contains(mayBeEmpty, table) && !slices.Contains(passkeyTables, table) && !slices.Contains(dpopTables, table) {
			t.Fatalf("table %s is empty: the scan proves nothing", table)
		}
		for _, r := range got {
			out = append(out, table+" | "+r)
		}
	}
	if len(tables) < 4 {
		t.Fatalf("found tables %v: want users, sessions, login_attempts and the schema version", tables)
	}
	return out
}

// redisValues reads every key of the test's namespace with its whole value.
func redisValues(t *testing.T, e *env) []string {
	ctx := testenv.Context(t)
	keys, err := e.redis.Keys(ctx, "{"+e.ns+"}:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	var out []string
	for _, k := range keys {
		kinds[strings.Split(k, ":")[1]] = true
		var val string
		switch typ := e.redis.Type(ctx, k).Val(); typ {
		case "hash":
			for f, v := range e.redis.HGetAll(ctx, k).Val() {
				val += f + "=" + v + " " + f + "=" + hex.EncodeToString([]byte(v)) + " "
			}
		case "zset":
			val = strings.Join(e.redis.ZRange(ctx, k, 0, -1).Val(), " ")
		default:
			t.Fatalf("key %s is a %s: the store writes only hashes and sorted sets", k, typ)
		}
		out = append(out, k+" | "+k+" "+val)
	}
	for _, kind := range []string{"u", "l", "s", "a"} {
		if !kinds[kind] {
			t.Fatalf("no %q key among %v: the scan proves nothing", kind, keys)
		}
	}
	return out
}

// TestRecoveryTokensNotAtRest: after the recovery flows, no stored value of
// the DynamoDB, PostgreSQL or Redis store (every item, row and key, the
// outbox's included) holds a link token, its body, or a password: a reader
// of the store can open no link (the records keep their ids; the token is
// the id and a MAC tag under a key the store does not hold).
func TestRecoveryTokensNotAtRest(t *testing.T) {
	for _, kind := range []string{"dynamodb", "postgres", "redis"} {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, func(c *config.Config) { c.MailLimitPerAddress, c.MailLimitPerIP = 50, 50 }, nil)
			secrets := recoveryFlowSecrets(t, e)
			records := storedValues(t, e, "mfa_factors", "mfa_tokens")
			all := strings.Join(records, "\n")
			// The scan sees the token records and the outbox: every link's
			// record id is stored, and no more than the id.
			for _, m := range e.outboxMessages() {
				if m.TokenID != "" && strings.Count(all, m.TokenID) < 2 {
					t.Fatalf("record id %s of a %s mail found %d times: the scan misses the records or the outbox", m.TokenID, m.Kind, strings.Count(all, m.TokenID))
				}
			}
			for _, rec := range records {
				for what, s := range secrets {
					if strings.Contains(rec, s) {
						t.Errorf("%s holds the %s", rec[:min(len(rec), 60)], what)
					}
				}
			}
		})
	}
}

// storedValues reads everything e's store holds, as text: every item of
// every DynamoDB table, every row of every PostgreSQL table (each must hold
// rows but those named in mayBeEmpty), every Redis key with its whole value
// (strings, hashes, sets, sorted sets).
func storedValues(t *testing.T, e *env, mayBeEmpty ...string) []string {
	ctx := testenv.Context(t)
	var out []string
	switch {
	case e.db != nil:
		// This env's own tables, every page of each: the shared moto_server
		// holds the tables of every other test too (ListTables pages at 100).
		for _, table := range []string{e.tables.Users, e.tables.Sessions, e.tables.Attempts, e.tables.Outbox} {
			if table == "" {
				continue
			}
			p := dynamodb.NewScanPaginator(e.db, &dynamodb.ScanInput{TableName: aws.String(table)})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, it := range page.Items {
					out = append(out, table+" | "+fmt.Sprintf("%v", it)+" "+dynamoText(it))
				}
			}
		}
	case e.pg != nil:
		out = postgresRows(t, e, mayBeEmpty...)
	case e.redis != nil:
		keys, err := e.redis.Keys(ctx, "{"+e.ns+"}:*").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			var val string
			switch typ := e.redis.Type(ctx, k).Val(); typ {
			case "hash":
				for f, v := range e.redis.HGetAll(ctx, k).Val() {
					val += f + "=" + v + " " + hex.EncodeToString([]byte(v)) + " "
				}
			case "zset":
				val = strings.Join(e.redis.ZRange(ctx, k, 0, -1).Val(), " ")
			case "set":
				val = strings.Join(e.redis.SMembers(ctx, k).Val(), " ")
			case "string":
				val = e.redis.Get(ctx, k).Val()
			default:
				t.Fatalf("key %s is a %s", k, typ)
			}
			out = append(out, k+" | "+val)
		}
	}
	return out
}

// dynamoText is every string and binary value of an item, nested ones too.
func dynamoText(it map[string]types.AttributeValue) string {
	var b strings.Builder
	var walk func(v types.AttributeValue)
	walk = func(v types.AttributeValue) {
		switch x := v.(type) {
		case *types.AttributeValueMemberS:
			b.WriteString(x.Value + " ")
		case *types.AttributeValueMemberB:
			b.WriteString(string(x.Value) + " " + hex.EncodeToString(x.Value) + " ")
		case *types.AttributeValueMemberM:
			for k, v := range x.Value {
				b.WriteString(k + " ")
				walk(v)
			}
		case *types.AttributeValueMemberL:
			for _, v := range x.Value {
				walk(v)
			}
		case *types.AttributeValueMemberSS:
			b.WriteString(strings.Join(x.Value, " ") + " ")
		}
	}
	for k, v := range it {
		b.WriteString(k + " ")
		walk(v)
	}
	return b.String()
}
