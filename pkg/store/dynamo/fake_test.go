package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rotor-auth/rotor/pkg/sessions"
	"github.com/rotor-auth/rotor/pkg/store/dynamo"
	"github.com/rotor-auth/rotor/pkg/throttle"
)

// fake answers the few calls a test needs; any other call panics (nil API).
type fake struct {
	dynamo.API
	transact  func(n int) error // nil: every transaction succeeds
	nTransact int
	txDeletes []int // Delete items per transaction
	user      map[string]types.AttributeValue
	batchKeys []int       // keys per BatchGetItem call
	unprocess int         // how many calls leave their last key unprocessed
	stuck     func(n int) // when set, BatchGetItem processes no key; called with the call's number
	writes    []int       // requests per BatchWriteItem call
	stuckW    func(n int) // when set, BatchWriteItem processes no request; called with the call's number
	nBatch    int         // BatchGetItem calls
	contend   time.Time   // when set, every UpdateItem fails its condition on a counter that moved, stamped at this time
	nUpdate   int         // UpdateItem calls while contend is set
}

// UpdateItem answers EndUserSessions: the user item as it is (the epoch's
// ADD returns it) and nothing for the list's REMOVE.
// While contend is set it answers a reservation as a counter that other
// reservations keep moving: its condition fails on an item with one more
// failure each time.
func (f *fake) UpdateItem(_ context.Context, in *dynamodb.UpdateItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if !f.contend.IsZero() {
		f.nUpdate++
		if f.nUpdate > 50 {
			return nil, fmt.Errorf("fake: %d conditional updates of one counter: no bound", f.nUpdate)
		}
		return nil, &types.ConditionalCheckFailedException{Message: aws.String("moved"), Item: map[string]types.AttributeValue{
			"failures":     &types.AttributeValueMemberN{Value: fmt.Sprint(f.nUpdate)},
			"last_failure": &types.AttributeValueMemberN{Value: fmt.Sprint(f.contend.UnixMilli())},
			"last_attempt": &types.AttributeValueMemberS{Value: fmt.Sprint("another reservation ", f.nUpdate)},
		}}
	}
	if in.ReturnValues == types.ReturnValueAllNew {
		return &dynamodb.UpdateItemOutput{Attributes: f.user}, nil
	}
	return &dynamodb.UpdateItemOutput{}, nil
}

func (f *fake) BatchWriteItem(_ context.Context, in *dynamodb.BatchWriteItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	for _, reqs := range in.RequestItems {
		f.writes = append(f.writes, len(reqs))
	}
	if f.stuckW != nil {
		f.stuckW(len(f.writes))
		if len(f.writes) > 50 {
			return nil, fmt.Errorf("fake: %d batch writes of unprocessed items: no bound", len(f.writes))
		}
		return &dynamodb.BatchWriteItemOutput{UnprocessedItems: in.RequestItems}, nil
	}
	return &dynamodb.BatchWriteItemOutput{}, nil
}

func (f *fake) TransactWriteItems(_ context.Context, in *dynamodb.TransactWriteItemsInput, _ ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	f.nTransact++
	if len(in.TransactItems) > 100 {
		return nil, fmt.Errorf("fake: a transaction of %d items; DynamoDB allows 100", len(in.TransactItems))
	}
	if f.transact == nil {
		d := 0
		for _, it := range in.TransactItems {
			if it.Delete != nil {
				d++
			}
		}
		f.txDeletes = append(f.txDeletes, d)
		return &dynamodb.TransactWriteItemsOutput{}, nil
	}
	return &dynamodb.TransactWriteItemsOutput{}, f.transact(f.nTransact)
}

func (f *fake) GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return &dynamodb.GetItemOutput{Item: f.user}, nil
}

func (f *fake) BatchGetItem(_ context.Context, in *dynamodb.BatchGetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	out := &dynamodb.BatchGetItemOutput{Responses: map[string][]map[string]types.AttributeValue{}}
	f.nBatch++
	for table, ka := range in.RequestItems {
		f.batchKeys = append(f.batchKeys, len(ka.Keys))
		if !aws.ToBool(ka.ConsistentRead) {
			panic("a batch read that is not strongly consistent")
		}
		if ka.ProjectionExpression != nil && *ka.ProjectionExpression == "" {
			panic("an empty ProjectionExpression, which DynamoDB refuses")
		}
		if f.stuck != nil {
			f.stuck(f.nBatch)
			if f.nBatch > 50 {
				return nil, fmt.Errorf("fake: %d batch reads of unprocessed keys: no bound", f.nBatch)
			}
			if out.UnprocessedKeys == nil {
				out.UnprocessedKeys = map[string]types.KeysAndAttributes{}
			}
			out.UnprocessedKeys[table] = ka
			continue
		}
		keys := ka.Keys
		if f.unprocess > 0 && len(keys) > 1 {
			f.unprocess--
			out.UnprocessedKeys = map[string]types.KeysAndAttributes{table: {Keys: keys[len(keys)-1:], ConsistentRead: aws.Bool(true)}}
			keys = keys[:len(keys)-1]
		}
		for _, k := range keys {
			out.Responses[table] = append(out.Responses[table], map[string]types.AttributeValue{
				"session_id": k["session_id"], "user_id": &types.AttributeValueMemberS{Value: "usr_1"},
			})
		}
	}
	return out, nil
}

func cancelled(codes ...string) error {
	var reasons []types.CancellationReason
	for _, c := range codes {
		reasons = append(reasons, types.CancellationReason{Code: aws.String(c)})
	}
	return &types.TransactionCanceledException{Message: aws.String("cancelled"), CancellationReasons: reasons}
}

func session() sessions.Session {
	return sessions.Session{ID: "AAAAAAAAAAAAAAAAAAAAAA", UserID: "usr_1", Username: "alice", TokenHash: make([]byte, 32), CreatedAt: time.Unix(1, 0)}
}

// TestTransactConflicts: a session's transaction cancelled only by
// concurrent writes is retried, at most 5 times; a cancellation that no
// reason explains is an error, never taken for success.
func TestTransactConflicts(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name    string
		answer  func(n int) error
		wantErr bool
		calls   int
	}{
		{"conflict twice, then through", func(n int) error {
			if n <= 2 {
				return cancelled("None", "TransactionConflict")
			}
			return nil
		}, false, 3},
		{"conflict for ever", func(int) error { return cancelled("TransactionConflict", "None") }, true, 5},
		{"cancelled without reasons", func(int) error { return cancelled() }, true, 1},
		{"fewer reasons than items", func(int) error { return cancelled("None") }, true, 1},
		{"cancelled for another reason", func(int) error { return cancelled("None", "ValidationError") }, true, 1},
		{"another error", func(int) error { return fmt.Errorf("throttled") }, true, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &fake{transact: tc.answer}
			err := dynamo.New(f, dynamo.Tables{Users: "u", Sessions: "s"}).CreateSession(ctx, session(), nil)
			if (err != nil) != tc.wantErr || f.nTransact != tc.calls {
				t.Fatalf("err %v after %d calls; want error %v after %d", err, f.nTransact, tc.wantErr, tc.calls)
			}
		})
	}
}

// TestListPagesBatchReads: a heavy user's sessions are read in batches of at
// most 100 keys (BatchSize when smaller), unprocessed keys re-sent, none lost.
func TestListPagesBatchReads(t *testing.T) {
	ids := map[string]types.AttributeValue{}
	for i := range 250 {
		ids[fmt.Sprintf("%022d", i)] = &types.AttributeValueMemberN{Value: "1"}
	}
	user := map[string]types.AttributeValue{
		"username": &types.AttributeValueMemberS{Value: "alice"}, "user_id": &types.AttributeValueMemberS{Value: "usr_1"},
		"sessions": &types.AttributeValueMemberM{Value: ids},
	}
	for _, tc := range []struct {
		batch, max int
	}{{0, 100}, {250, 100}, {7, 7}} {
		t.Run(fmt.Sprint("batch ", tc.batch), func(t *testing.T) {
			f := &fake{user: user, unprocess: 2}
			st := dynamo.New(f, dynamo.Tables{Users: "u", Sessions: "s"})
			st.BatchSize = tc.batch
			list, err := st.ListSessions(context.Background(), "alice", "usr_1")
			if err != nil || len(list) != len(ids) {
				t.Fatalf("listed %d of %d: %v", len(list), len(ids), err)
			}
			for _, n := range f.batchKeys {
				if n > tc.max {
					t.Fatalf("a batch of %d keys; at most %d", n, tc.max)
				}
			}
		})
	}
}

// heavyUser is alice's user item, listing n sessions.
func heavyUser(n int) map[string]types.AttributeValue {
	ids := map[string]types.AttributeValue{}
	for i := range n {
		ids[fmt.Sprintf("%022d", i)] = &types.AttributeValueMemberN{Value: "1"}
	}
	return map[string]types.AttributeValue{
		"username": &types.AttributeValueMemberS{Value: "alice"}, "user_id": &types.AttributeValueMemberS{Value: "usr_1"},
		"sessions": &types.AttributeValueMemberM{Value: ids},
	}
}

// TestEndUserSessionsBatches: ending the sessions of a user with more than
// one transaction holds deletes every one of them: 99 in the transaction
// that moves the epoch, the surplus before it in writes of at most 25
// requests (BatchSize when smaller), after reads of at most 100 keys.
func TestEndUserSessionsBatches(t *testing.T) {
	const n = 250
	for _, tc := range []struct {
		batch, maxRead, maxWrite int
	}{{0, 100, 25}, {250, 100, 25}, {7, 7, 7}} {
		t.Run(fmt.Sprint("batch ", tc.batch), func(t *testing.T) {
			f := &fake{user: heavyUser(n)}
			st := dynamo.New(f, dynamo.Tables{Users: "u", Sessions: "s"})
			st.BatchSize = tc.batch
			live, err := st.EndUserSessions(context.Background(), "alice", "usr_1")
			if err != nil || live != n {
				t.Fatalf("EndUserSessions = %d, %v; want %d", live, err, n)
			}
			if len(f.txDeletes) != 1 || f.txDeletes[0] != 99 {
				t.Fatalf("transactions deleting %v sessions; want one of 99 (and the user's update)", f.txDeletes)
			}
			deleted := f.txDeletes[0]
			for _, w := range f.writes {
				if w > tc.maxWrite {
					t.Fatalf("a batch write of %d requests; at most %d", w, tc.maxWrite)
				}
				deleted += w
			}
			if deleted != n {
				t.Fatalf("%d deletes sent; want %d", deleted, n)
			}
			for _, r := range f.batchKeys {
				if r > tc.maxRead {
					t.Fatalf("a batch read of %d keys; at most %d", r, tc.maxRead)
				}
			}
		})
	}
}

// TestStuckBatchEndsWithContext: keys or requests DynamoDB never processes
// are re-sent after a backoff that watches ctx, so a caller whose ctx ends
// (a Lambda's deadline) gets its error, not a loop.
func TestStuckBatchEndsWithContext(t *testing.T) {
	tables := dynamo.Tables{Users: "u", Sessions: "s", Attempts: "a"}
	for _, tc := range []struct {
		name  string
		stuck func(f *fake, onCall func(n int))
		call  func(ctx context.Context, st *dynamo.Store) error
		calls func(f *fake) int
	}{
		{"ListSessions read", func(f *fake, on func(int)) { f.stuck = on }, func(ctx context.Context, st *dynamo.Store) error {
			_, err := st.ListSessions(ctx, "alice", "usr_1")
			return err
		}, func(f *fake) int { return f.nBatch }},
		{"GetLogin read", func(f *fake, on func(int)) { f.stuck = on }, func(ctx context.Context, st *dynamo.Store) error {
			_, _, err := st.GetLogin(ctx, "alice", []string{"alice", "ip"})
			return err
		}, func(f *fake) int { return f.nBatch }},
		// The user and the watermark a login reads beside its reservations:
		// one call across two tables.
		{"ReserveLogin read", func(f *fake, on func(int)) { f.stuck = on }, func(ctx context.Context, st *dynamo.Store) error {
			_, _, _, err := st.ReserveLogin(ctx, "alice", nil, time.Unix(1, 0))
			return err
		}, func(f *fake) int { return f.nBatch }},
		{"EndUserSessions deletes", func(f *fake, on func(int)) { f.stuckW = on }, func(ctx context.Context, st *dynamo.Store) error {
			_, err := st.EndUserSessions(ctx, "alice", "usr_1")
			return err
		}, func(f *fake) int { return len(f.writes) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			// More sessions than a transaction holds: the surplus is
			// deleted by batch writes.
			f := &fake{user: heavyUser(150)}
			tc.stuck(f, func(n int) {
				if n == 3 {
					cancel()
				}
			})
			err := tc.call(ctx, dynamo.New(f, tables))
			if !errors.Is(err, context.Canceled) || tc.calls(f) != 3 {
				t.Fatalf("%v after %d calls; want context.Canceled after 3", err, tc.calls(f))
			}
		})
	}
}

// TestReserveContendedEnds, as a burst that keeps moving one counter (many
// guesses at one username or from one address at once): a reservation
// retries its compare-and-set a bounded number of times, then fails with an
// error (no slot taken, no verified guess), never a loop that holds the
// function until its deadline.
func TestReserveContendedEnds(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	c := throttle.Counter{Key: throttle.UserKey("alice"), Policy: throttle.Policy{MaxFailures: 1000, Base: time.Second, Max: time.Minute}}
	for _, tc := range []struct {
		name  string
		stamp time.Time // the moving counter's last failure
	}{
		{"stamped by a clock ahead", now.Add(time.Minute)},
		{"stamped by our clock", now.Add(-time.Second)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fake{contend: tc.stamp}
			r, err := dynamo.New(f, dynamo.Tables{Attempts: "a"}).Reserve(context.Background(), []throttle.Counter{c}, now)
			if err == nil || r.OK || f.nUpdate != 8 {
				t.Fatalf("Reserve = %+v, %v after %d conditional updates; want an error after 8", r, err, f.nUpdate)
			}
		})
	}
}
