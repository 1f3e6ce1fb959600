package dynamo_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/store/dynamo"
	"github.com/rotor-auth/rotor/pkg/store/storetest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// newStore creates fresh tables on moto_server for one test.
func newStore(t *testing.T) *dynamo.Store {
	st, _ := testenv.DynamoStore(t)
	return st
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return newStore(t) })
}

// TestContractSmallBatches runs the contract with batches of 2 keys, so
// every multi-call path (listing, ending all of a heavy user's sessions) is
// paged: reading only the first page would leave sessions alive.
func TestContractSmallBatches(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		st := newStore(t)
		st.BatchSize = 2
		return st
	})
}

// TestCreateTablesTTL: the sessions, attempts and outbox tables expire their items
// by expires_at; the users table keeps its items.
func TestCreateTablesTTL(t *testing.T) {
	db := testenv.DynamoDB(t)
	tables := testenv.DynamoTables(t, db)
	for _, tc := range []struct {
		table string
		want  types.TimeToLiveStatus
	}{
		{tables.Sessions, types.TimeToLiveStatusEnabled},
		{tables.Attempts, types.TimeToLiveStatusEnabled},
		{tables.Outbox, types.TimeToLiveStatusEnabled},
		{tables.Users, types.TimeToLiveStatusDisabled},
	} {
		out, err := db.DescribeTimeToLive(testenv.Context(t), &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(tc.table)})
		if err != nil {
			t.Fatal(err)
		}
		d := out.TimeToLiveDescription
		if d == nil || d.TimeToLiveStatus != tc.want || tc.want == types.TimeToLiveStatusEnabled && aws.ToString(d.AttributeName) != "expires_at" {
			t.Errorf("%s: TTL %+v; want %s", tc.table, d, tc.want)
		}
	}
}

func TestOutboxContract(t *testing.T) {
	storetest.RunOutbox(t, func(t *testing.T) storetest.OutboxStore { return newStore(t) })
}
