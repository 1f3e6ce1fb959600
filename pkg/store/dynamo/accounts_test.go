package dynamo_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/auth"
	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/store/dynamo"
	"github.com/rotor-auth/rotor/pkg/store/storetest"
)

var _ auth.AccountStore = (*dynamo.Store)(nil)

// waiting reads every message of st's outbox: none of the contract's is ever
// sent, so all of them wait.
func waiting(t *testing.T, st interface {
	DueMessages(ctx context.Context, now time.Time, limit int) ([]outbox.Message, error)
}) storetest.Outbox {
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
		st := newStore(t)
		return st, waiting(t, st)
	})
}

func TestAccountRaces(t *testing.T) {
	storetest.RunAccountRaces(t, func(t *testing.T) (storetest.AccountStore, storetest.Outbox) {
		st := newStore(t)
		return st, waiting(t, st)
	})
}

// counted counts the calls a store makes (each one request to DynamoDB).
type counted struct {
	dynamo.API
	n atomic.Int64
}

func (c *counted) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.n.Add(1)
	return c.API.GetItem(ctx, in, opts...)
}

func (c *counted) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.n.Add(1)
	return c.API.PutItem(ctx, in, opts...)
}

func (c *counted) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.n.Add(1)
	return c.API.UpdateItem(ctx, in, opts...)
}

func (c *counted) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	c.n.Add(1)
	return c.API.DeleteItem(ctx, in, opts...)
}

func (c *counted) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c.n.Add(1)
	return c.API.TransactWriteItems(ctx, in, opts...)
}

func (c *counted) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	c.n.Add(1)
	return c.API.BatchWriteItem(ctx, in, opts...)
}

func (c *counted) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	c.n.Add(1)
	return c.API.BatchGetItem(ctx, in, opts...)
}

func (c *counted) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.n.Add(1)
	return c.API.Query(ctx, in, opts...)
}

// TestAccountRoundTrips: a transaction per operation; a use reads the user
// back (and a change reads it first, to know which claim to release; a
// reset too, to end the sessions it lists in its transaction), a
// look-up by address reads the claim then its owner, and a signup with a
// taken address writes twice (the check fails the first transaction).
func TestAccountRoundTrips(t *testing.T) {
	st := newStore(t)
	c := &counted{API: st.DB}
	st.DB = c
	storetest.AccountRoundTrips(t, st, func() int64 { return c.n.Swap(0) }, storetest.AccountBudget{
		Create: 1, CreateTaken: 2, Issue: 1, Get: 1, Verify: 2, Reset: 3, Change: 3, ByEmail: 2, Add: 1,
	})
}
