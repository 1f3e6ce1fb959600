package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// AdminAPI is what CreateTables needs; in production the tables come from
// template.yaml and this is only used by the local server and tests.
type AdminAPI interface {
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	UpdateTimeToLive(ctx context.Context, in *dynamodb.UpdateTimeToLiveInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
}

// CreateTables creates the tables as template.yaml declares them (the
// outbox only when named), skipping any that exist, and waits until they
// are active.
func CreateTables(ctx context.Context, db AdminAPI, t Tables) error {
	str := types.ScalarAttributeTypeS
	defs := []*dynamodb.CreateTableInput{
		{
			TableName:            aws.String(t.Users),
			AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("username"), AttributeType: str}},
			KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("username"), KeyType: types.KeyTypeHash}},
		},
		{
			TableName:            aws.String(t.Sessions),
			AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("session_id"), AttributeType: str}},
			KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("session_id"), KeyType: types.KeyTypeHash}},
		},
		{
			TableName:            aws.String(t.Attempts),
			AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("username"), AttributeType: str}},
			KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("username"), KeyType: types.KeyTypeHash}},
		},
	}
	if t.Outbox != "" {
		defs = append(defs, outboxTable(t.Outbox))
	}
	for _, in := range defs {
		in.BillingMode = types.BillingModePayPerRequest
		_, err := db.CreateTable(ctx, in)
		var inUse *types.ResourceInUseException
		if errors.As(err, &inUse) {
			continue
		}
		if err != nil {
			return fmt.Errorf("dynamo: create table %s: %w", aws.ToString(in.TableName), err)
		}
		w := dynamodb.NewTableExistsWaiter(db)
		if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: in.TableName}, time.Minute); err != nil {
			return fmt.Errorf("dynamo: wait for table %s: %w", aws.ToString(in.TableName), err)
		}
		if aws.ToString(in.TableName) == t.Users {
			continue
		}
		_, err = db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
			TableName:               in.TableName,
			TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String("expires_at"), Enabled: aws.Bool(true)},
		})
		if err != nil {
			return fmt.Errorf("dynamo: enable TTL on %s: %w", aws.ToString(in.TableName), err)
		}
	}
	return nil
}
