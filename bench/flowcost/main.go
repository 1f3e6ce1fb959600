// Command flowcost measures what each Rotor flow asks of DynamoDB: it runs
// the real flows (auth.Service on the DynamoDB store) against a private
// moto_server, records every call the store makes, reads the items each call
// touches, and prints, per flow, the calls with the item sizes and the
// read/write request units DynamoDB on-demand would bill for them (the
// rounding rules of the DynamoDB developer guide: reads per 4 KB, half for
// eventually consistent reads; writes per 1 KB of the larger of the item
// before and after, twice that inside a transaction; one more write per
// global secondary index of the table). scripts/cost.py reads its JSON.
//
//	go run ./bench/flowcost > flows.json
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"math"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/auth"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/dpop"
	"github.com/rotor-auth/rotor/pkg/keys"
	"github.com/rotor-auth/rotor/pkg/mac"
	"github.com/rotor-auth/rotor/pkg/password"
	"github.com/rotor-auth/rotor/pkg/sessions"
	"github.com/rotor-auth/rotor/pkg/store/dynamo"
	"github.com/rotor-auth/rotor/pkg/throttle"
	"github.com/rotor-auth/rotor/pkg/token"
)

// Call is one DynamoDB request of a flow.
type Call struct {
	Trip       int     `json:"trip"` // the request it was part of: a batch or transaction is one trip
	Op         string  `json:"op"`
	Table      string  `json:"table"`
	Consistent bool    `json:"consistent,omitempty"`
	ItemBytes  []int   `json:"item_bytes"` // each item read, or the larger of before/after for a write
	RRU        float64 `json:"rru"`
	WRU        float64 `json:"wru"`
}

// Flow is one user-visible operation and what it cost.
type Flow struct {
	Name  string  `json:"name"`
	Calls []Call  `json:"calls"`
	RRU   float64 `json:"rru"`
	WRU   float64 `json:"wru"`
}

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	url, err := testenv.Moto()
	if err != nil {
		return fmt.Errorf("moto_server: %w", err)
	}
	defer testenv.Stop()
	ctx := context.Background()
	db := dynamodb.NewFromConfig(testenv.AWSConfig(url))
	cfg := config.Default()
	tables := dynamo.Tables{Users: cfg.UsersTable, Sessions: cfg.SessionsTable, Attempts: cfg.AttemptsTable}
	if err := dynamo.CreateTables(ctx, db, tables); err != nil {
		return err
	}
	m := &meter{db: db, gsi: map[string]int{}}
	for _, t := range []string{tables.Users, tables.Sessions, tables.Attempts} {
		out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(t)})
		if err != nil {
			return err
		}
		m.gsi[t] = len(out.Table.GlobalSecondaryIndexes)
	}
	st := dynamo.New(m, tables)
	ring, err := mac.Generate(nil)
	if err != nil {
		return err
	}

	k, err := keys.Generate(cfg.SigningAlg, nil, time.Now())
	if err != nil {
		return err
	}
	hasher, err := password.NewHasher(password.OWASP, nil)
	if err != nil {
		return err
	}
	mgr := &sessions.Manager{Store: st, MAC: mac.Static(ring), IdleTTL: cfg.RefreshTokenTTL, MaxTTL: cfg.SessionMaxTTL,
		Grace: cfg.RefreshGrace, MaxPerUser: cfg.MaxSessionsPerUser}
	ip56, ip48 := cfg.IPv6Budgets()
	svc := &auth.Service{
		Users: st, Logins: st, Attempts: st,
		Throttle:   throttle.Policy{MaxFailures: cfg.LoginMaxFailures, Base: cfg.LoginBackoffBase, Max: cfg.LoginBackoffMax},
		IPThrottle: throttle.Policy{MaxFailures: cfg.IPMaxFailures, Base: cfg.IPBackoffBase, Max: cfg.IPBackoffMax},
		MAC:        mac.Static(ring),
		Sessions:   mgr,
		Passwords:  hasher,
		Tokens:     &token.Issuer{Keys: keys.Static{Current: k}, Issuer: "urn:rotor:my-stack", Audience: "urn:rotor:my-stack:api", TTL: cfg.AccessTokenTTL},
		Log:        slog.New(slog.DiscardHandler),

		// The wider IPv6 blocks and the username's device tokens together.
		IP56Throttle:   throttle.Policy{MaxFailures: ip56, Base: cfg.IPBackoffBase, Max: cfg.IPBackoffMax},
		IP48Throttle:   throttle.Policy{MaxFailures: ip48, Base: cfg.IPBackoffBase, Max: cfg.IPBackoffMax},
		DeviceThrottle: throttle.Policy{MaxFailures: cfg.DeviceBudget(), Base: cfg.LoginBackoffBase, Max: cfg.LoginBackoffMax},
	}
	dpopKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	verifier := &dpop.Verifier{Replay: st}
	// A realistic client: an e-mail address as username, a browser's user agent.
	const username, pw = "ada.lovelace@example.com", "correct horse battery staple"
	client := auth.Client{IP: "203.0.113.42", UserAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15"}

	var flows []Flow
	measure := func(name string, f func() error) error {
		m.start()
		if err := f(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		flows = append(flows, m.flow(name))
		return nil
	}
	var pair auth.Pair
	steps := []struct {
		name string
		f    func() error
	}{
		{"signup", func() error { _, err := svc.Signup(ctx, username, pw); return err }},
		{"login", func() (err error) { pair, err = svc.Login(ctx, username, pw, "", client); return err }},
		{"refresh", func() (err error) { pair, err = svc.Refresh(ctx, pair.RefreshToken, ""); return err }},
		{"authorizer_strict", func() error { return mgr.Check(ctx, pair.SessionID, time.Now()) }},
		{"list_sessions", func() error {
			_, err := svc.ListSessions(ctx, auth.Caller{UserID: pair.UserID, Username: username, SessionID: pair.SessionID})
			return err
		}},
		{"login_failed", func() error {
			if _, err := svc.Login(ctx, username, "wrong password", "", client); err == nil {
				return fmt.Errorf("a wrong password logged in")
			}
			return nil
		}},
		{"logout", func() error { return svc.Logout(ctx, pair.RefreshToken) }},
		// DPoP (issue 24): the proof checked as the token endpoints check it,
		// its jti spent in the sessions table (a conditional PutItem), then
		// the flow with the session bound to the key.
		{"login_dpop", func() (err error) {
			c := client
			if c.JKT, err = proven(ctx, verifier, dpopKey, "/auth/login"); err != nil {
				return err
			}
			pair, err = svc.Login(ctx, username, pw, "", c)
			return err
		}},
		{"refresh_dpop", func() error {
			jkt, err := proven(ctx, verifier, dpopKey, "/auth/refresh")
			if err != nil {
				return err
			}
			pair, err = svc.RefreshWithKey(ctx, pair.RefreshToken, "", jkt)
			return err
		}},
	}
	for _, s := range steps {
		if err := measure(s.name, s.f); err != nil {
			return err
		}
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(map[string]any{"generated": time.Now().UTC().Format(time.RFC3339), "flows": flows})
}

// proven makes a proof with key for a POST to path and checks it as the
// token endpoints do, returning its key's thumbprint.
func proven(ctx context.Context, v *dpop.Verifier, key *ecdsa.PrivateKey, path string) (string, error) {
	url := "https://auth.example.com" + path
	p, err := dpop.NewProof(key, dpop.Request{Method: "POST", URL: url, Now: time.Now()})
	if err != nil {
		return "", err
	}
	proof, err := v.Verify(ctx, p, dpop.Check{Method: "POST", URL: url, Now: time.Now()})
	return proof.JKT, err
}

// meter is the store's DynamoDB client: it forwards every call and records
// the items each touches (read back around writes with its own GetItems,
// which are not recorded).
type meter struct {
	db  *dynamodb.Client
	gsi map[string]int // global secondary indexes per table (all assumed to project the item)

	mu    sync.Mutex
	calls []Call
	trip  int // requests so far in this flow
}

func (m *meter) start() { m.mu.Lock(); m.calls, m.trip = nil, 0; m.mu.Unlock() }

// next starts a new request: the calls recorded until the next one share it.
func (m *meter) next() { m.mu.Lock(); m.trip++; m.mu.Unlock() }

func (m *meter) flow(name string) Flow {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := Flow{Name: name, Calls: m.calls}
	for _, c := range m.calls {
		f.RRU += c.RRU
		f.WRU += c.WRU
	}
	return f
}

func (m *meter) record(c Call) {
	m.mu.Lock()
	c.Trip = m.trip
	m.calls = append(m.calls, c)
	m.mu.Unlock()
}

// readUnits: one unit per 4 KB read (at least one), half when eventually consistent.
func readUnits(bytes int, consistent bool) float64 {
	u := math.Max(1, math.Ceil(float64(bytes)/4096))
	if !consistent {
		u /= 2
	}
	return u
}

// writeUnits: one unit per 1 KB written (at least one).
func writeUnits(bytes int) float64 { return math.Max(1, math.Ceil(float64(bytes)/1024)) }

// peek reads an item without recording it: its size before or after a write.
func (m *meter) peek(ctx context.Context, table string, key map[string]types.AttributeValue) int {
	out, err := m.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil || out.Item == nil {
		return 0
	}
	return itemSize(out.Item)
}

func (m *meter) write(table, op string, before, after int) {
	size := max(before, after)
	units := writeUnits(size)
	if strings.HasPrefix(op, "Transact") {
		units *= 2 // transactional writes bill twice
	}
	c := Call{Op: op, Table: table, ItemBytes: []int{size}, WRU: units}
	if size > 0 {
		c.WRU += float64(m.gsi[table]) * writeUnits(size) // each index's copy
	}
	m.record(c)
}

func (m *meter) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	m.next()
	out, err := m.db.GetItem(ctx, in, opts...)
	if err == nil {
		size := itemSize(out.Item)
		consistent := aws.ToBool(in.ConsistentRead)
		m.record(Call{Op: "GetItem", Table: aws.ToString(in.TableName), Consistent: consistent, ItemBytes: []int{size}, RRU: readUnits(size, consistent)})
	}
	return out, err
}

func (m *meter) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	m.next()
	table := aws.ToString(in.TableName)
	out, err := m.db.PutItem(ctx, in, opts...)
	if err == nil {
		m.write(table, "PutItem", 0, itemSize(in.Item))
	}
	return out, err
}

func (m *meter) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	m.next()
	table := aws.ToString(in.TableName)
	before := m.peek(ctx, table, in.Key)
	out, err := m.db.UpdateItem(ctx, in, opts...)
	if err == nil {
		m.write(table, "UpdateItem", before, m.peek(ctx, table, in.Key))
	}
	return out, err
}

func (m *meter) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	m.next()
	table := aws.ToString(in.TableName)
	before := m.peek(ctx, table, in.Key)
	out, err := m.db.DeleteItem(ctx, in, opts...)
	if err == nil {
		m.write(table, "DeleteItem", before, 0)
	}
	return out, err
}

func (m *meter) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	m.next()
	type pending struct {
		table, op string
		key       map[string]types.AttributeValue
		before    int
		put       int
	}
	var ps []pending
	for _, op := range in.TransactItems {
		switch {
		case op.Put != nil:
			ps = append(ps, pending{table: aws.ToString(op.Put.TableName), op: "TransactPut", put: itemSize(op.Put.Item)})
		case op.Update != nil:
			t := aws.ToString(op.Update.TableName)
			ps = append(ps, pending{table: t, op: "TransactUpdate", key: op.Update.Key, before: m.peek(ctx, t, op.Update.Key)})
		case op.Delete != nil:
			t := aws.ToString(op.Delete.TableName)
			ps = append(ps, pending{table: t, op: "TransactDelete", before: m.peek(ctx, t, op.Delete.Key)})
		}
	}
	out, err := m.db.TransactWriteItems(ctx, in, opts...)
	if err == nil {
		for _, p := range ps {
			after := p.put
			if p.key != nil {
				after = m.peek(ctx, p.table, p.key)
			}
			m.write(p.table, p.op, p.before, after)
		}
	}
	return out, err
}

func (m *meter) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	m.next()
	type pending struct {
		table  string
		key    map[string]types.AttributeValue
		before int
		put    int
	}
	var ps []pending
	for table, reqs := range in.RequestItems {
		for _, r := range reqs {
			switch {
			case r.DeleteRequest != nil:
				ps = append(ps, pending{table: table, before: m.peek(ctx, table, r.DeleteRequest.Key)})
			case r.PutRequest != nil:
				ps = append(ps, pending{table: table, put: itemSize(r.PutRequest.Item)})
			}
		}
	}
	out, err := m.db.BatchWriteItem(ctx, in, opts...)
	if err == nil {
		for _, p := range ps {
			m.write(p.table, "BatchWriteItem", p.before, p.put)
		}
	}
	return out, err
}

func (m *meter) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	m.next()
	out, err := m.db.BatchGetItem(ctx, in, opts...)
	if err == nil {
		for table, ka := range in.RequestItems {
			consistent := aws.ToBool(ka.ConsistentRead)
			found := out.Responses[table]
			// Every requested key is billed, found or not (at least one unit each).
			for i := range ka.Keys {
				size := 0
				if i < len(found) {
					size = itemSize(found[i])
				}
				m.record(Call{Op: "BatchGetItem", Table: table, Consistent: consistent, ItemBytes: []int{size}, RRU: readUnits(size, consistent)})
			}
		}
	}
	return out, err
}

// Query (the outbox sweep) bills what it read, eventually consistent.
func (m *meter) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	m.next()
	out, err := m.db.Query(ctx, in, opts...)
	if err == nil {
		size := 0
		for _, it := range out.Items {
			size += itemSize(it)
		}
		consistent := aws.ToBool(in.ConsistentRead)
		m.record(Call{Op: "Query", Table: aws.ToString(in.TableName), Consistent: consistent, ItemBytes: []int{size}, RRU: readUnits(size, consistent)})
	}
	return out, err
}

var _ dynamo.API = (*meter)(nil)

// itemSize is an item's size as DynamoDB bills it: each attribute's name in
// UTF-8 bytes plus its value (strings: UTF-8 bytes; binary: bytes; numbers:
// one byte per two significant digits plus one; booleans and null: one byte;
// lists and maps: three bytes plus their elements, one more byte per element).
func itemSize(it map[string]types.AttributeValue) int {
	n := 0
	for k, v := range it {
		n += len(k) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return numberSize(v.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range v.Value {
			n += len(s)
		}
		return n
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		n := 3
		for k, e := range v.Value {
			n += 1 + len(k) + valueSize(e)
		}
		return n
	}
	return 0
}

func numberSize(s string) int {
	digits := strings.TrimLeft(strings.NewReplacer("-", "", ".", "").Replace(s), "0")
	return (len(digits)+1)/2 + 1
}
