package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rotor-auth/rotor/pkg/outbox"
)

var _ outbox.Store = (*Store)(nil)

// outboxRetention is how long a message is kept after it was written (the
// TTL attribute expires_at): long enough to read why one failed.
const outboxRetention = 30 * 24 * time.Hour

// dueIndex is the sparse index of waiting messages: only they carry "due".
const dueIndex = "due"

// outboxTable is the Outbox table as template.yaml declares it: the stream
// of new images starts the sender (functions/mailer).
func outboxTable(name string) *dynamodb.CreateTableInput {
	return &dynamodb.CreateTableInput{
		TableName: aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("due"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("next_at"), AttributeType: types.ScalarAttributeTypeN},
		},
		KeySchema: []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName: aws.String(dueIndex),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String("due"), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String("next_at"), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}},
		StreamSpecification: &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeNewImage},
	}
}

// MessageItem is m as an Outbox item, new and waiting: what a flow puts in
// its transaction (with attribute_not_exists(id)) beside what m carries.
func MessageItem(m outbox.Message) map[string]types.AttributeValue {
	next := m.NextAt
	if next.IsZero() {
		next = m.CreatedAt
	}
	data := item{}
	for k, v := range m.Data {
		data[k] = s(v)
	}
	it := item{
		"id":         s(m.ID),
		"kind":       s(string(m.Kind)),
		"to":         s(m.To),
		"user_id":    s(m.UserID),
		"data":       &types.AttributeValueMemberM{Value: data},
		"created_at": ms(m.CreatedAt),
		"next_at":    ms(next),
		"attempts":   n(0),
		"due":        s("1"),
		"expires_at": sec(m.CreatedAt.Add(outboxRetention)),
	}
	if m.TokenID != "" {
		it["token_id"] = s(m.TokenID)
	}
	return it
}

// MessagePut is the transaction item that adds m to st's outbox (a retried
// write that finds it there fails the condition: the caller's transaction
// decides whether that is its own earlier write).
func (st *Store) MessagePut(m outbox.Message) *types.Put {
	return &types.Put{
		TableName:                aws.String(st.Tables.Outbox),
		Item:                     MessageItem(m),
		ConditionExpression:      aws.String("attribute_not_exists(#id)"),
		ExpressionAttributeNames: map[string]string{"#id": "id"},
	}
}

// AddMessage adds m on its own (tests and tools; the flows add theirs in
// their own transactions with MessagePut). A message already stored under
// m.ID is kept: the write is a retry.
func (st *Store) AddMessage(ctx context.Context, m outbox.Message) error {
	p := st.MessagePut(m)
	_, err := st.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: p.TableName, Item: p.Item, ConditionExpression: p.ConditionExpression, ExpressionAttributeNames: p.ExpressionAttributeNames,
	})
	if _, ok := isConditionFailed(err); ok {
		return nil
	}
	if err != nil {
		return fmt.Errorf("dynamo: add message: %w", err)
	}
	return nil
}

func messageFrom(it item) outbox.Message {
	m := outbox.Message{
		ID:        it.str("id"),
		Kind:      outbox.Kind(it.str("kind")),
		To:        it.str("to"),
		UserID:    it.str("user_id"),
		TokenID:   it.str("token_id"),
		Data:      map[string]string{},
		CreatedAt: it.ms("created_at"),
		NextAt:    it.ms("next_at"),
		Attempts:  int(it.num("attempts")),
		Failed:    it.str("failed") == "1",
		LastError: it.str("last_error"),
	}
	if d, ok := it["data"].(*types.AttributeValueMemberM); ok {
		for k := range d.Value {
			m.Data[k] = item(d.Value).str(k)
		}
	}
	if _, ok := it["lease_until"]; ok {
		m.LeaseUntil = it.ms("lease_until")
	}
	if _, ok := it["sent_at"]; ok {
		m.SentAt = it.ms("sent_at")
	}
	return m
}

// DueMessages implements outbox.Store with a query of the sparse index
// "due" (eventually consistent: a sweep that misses a message this minute
// finds it the next), paged until limit messages are found.
func (st *Store) DueMessages(ctx context.Context, now time.Time, limit int) ([]outbox.Message, error) {
	in := &dynamodb.QueryInput{
		TableName:                aws.String(st.Tables.Outbox),
		IndexName:                aws.String(dueIndex),
		KeyConditionExpression:   aws.String("#due = :one AND next_at <= :now"),
		FilterExpression:         aws.String("attribute_not_exists(lease_until) OR lease_until <= :now"),
		ExpressionAttributeNames: map[string]string{"#due": "due"},
		ExpressionAttributeValues: item{
			":one": s("1"), ":now": ms(now),
		},
		ScanIndexForward: aws.Bool(true),
	}
	if limit > 0 {
		in.Limit = aws.Int32(int32(limit))
	}
	var due []outbox.Message
	for {
		out, err := st.DB.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("dynamo: due messages: %w", err)
		}
		for _, it := range out.Items {
			due = append(due, messageFrom(it))
			if limit > 0 && len(due) == limit {
				return due, nil
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return due, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// ClaimMessage implements outbox.Store with one conditional UpdateItem,
// which counts the attempt (a sender that dies holding the lease used one).
func (st *Store) ClaimMessage(ctx context.Context, id string, now, leaseUntil time.Time) (outbox.Message, error) {
	out, err := st.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(st.Tables.Outbox),
		Key:                                 item{"id": s(id)},
		UpdateExpression:                    aws.String("SET lease_until = :lease ADD attempts :one"),
		ConditionExpression:                 aws.String("attribute_exists(#due) AND (attribute_not_exists(lease_until) OR lease_until <= :now)"),
		ExpressionAttributeNames:            map[string]string{"#due": "due"},
		ExpressionAttributeValues:           item{":lease": ms(leaseUntil), ":now": ms(now), ":one": n(1)},
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if c, ok := isConditionFailed(err); ok {
		if len(c.Item) == 0 {
			return outbox.Message{}, outbox.ErrNotFound
		}
		return outbox.Message{}, outbox.ErrClaimed
	}
	if err != nil {
		return outbox.Message{}, fmt.Errorf("dynamo: claim message %s: %w", id, err)
	}
	return messageFrom(out.Attributes), nil
}

// MarkSent implements outbox.Store: one conditional UpdateItem under the
// lease; it leaves the index of waiting messages.
func (st *Store) MarkSent(ctx context.Context, id string, leaseUntil, now time.Time) error {
	return st.mark(ctx, id, leaseUntil, "SET sent_at = :now, marked_lease = :lease REMOVE lease_until, #due, last_error", item{":now": ms(now)})
}

// MarkFailed implements outbox.Store: one conditional UpdateItem under the
// lease; a permanent failure leaves the index of waiting messages.
func (st *Store) MarkFailed(ctx context.Context, id string, leaseUntil, nextAt time.Time, permanent bool, reason string) error {
	values := item{":reason": s(reason)}
	update := "SET last_error = :reason, marked_lease = :lease, "
	if permanent {
		update += "failed = :one REMOVE lease_until, #due"
		values[":one"] = s("1")
	} else {
		update += "next_at = :next REMOVE lease_until"
		values[":next"] = ms(nextAt)
	}
	return st.mark(ctx, id, leaseUntil, update, values)
}

// mark applies update on condition that leaseUntil is the message's lease
// and it waits. When the condition fails because this very mark was applied
// already (the SDK resent it after a lost answer), it succeeds.
func (st *Store) mark(ctx context.Context, id string, leaseUntil time.Time, update string, values item) error {
	if leaseUntil.IsZero() {
		return outbox.ErrClaimed
	}
	values[":lease"] = ms(leaseUntil)
	_, err := st.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(st.Tables.Outbox),
		Key:                                 item{"id": s(id)},
		UpdateExpression:                    aws.String(update),
		ConditionExpression:                 aws.String("lease_until = :lease AND attribute_exists(#due)"),
		ExpressionAttributeNames:            map[string]string{"#due": "due"},
		ExpressionAttributeValues:           values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	c, ok := isConditionFailed(err)
	switch {
	case ok && len(c.Item) == 0:
		return outbox.ErrNotFound
	case ok && item(c.Item).num("marked_lease") == leaseUntil.UnixMilli():
		return nil
	case ok:
		return outbox.ErrClaimed
	case err != nil:
		return fmt.Errorf("dynamo: mark message %s: %w", id, err)
	}
	return nil
}
