package dynamo

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/passkey"
)

var _ passkey.Store = (*Store)(nil)

// The passkey items live in the existing tables, under keys no username and
// no session id can take:
//
//   - users table, "pk#<credential id>": a credential: user_id, name, data
//     (binary), sign_count, backup_state (0/1), created_at and last_used_at
//     (ms). A discoverable login reads it by the id the browser names.
//   - users table, "pku#<user id>": the user's credential ids (ids, a
//     string set), written in the same transaction as each credential, for
//     listing.
//   - sessions table, "pkc#<hash>": a challenge record; its TTL attribute
//     (expires_at, seconds) is one day after the challenge expired, its
//     expiry proper is valid_until (ms), checked by the use's condition.
const (
	passkeyKeyPrefix   = "pk#"
	passkeysKeyPrefix  = "pku#"
	pkChallengePrefix  = "pkc#"
	maxBatchGetPerCall = 100
)

func passkeyKey(id string) item       { return item{"username": s(passkeyKeyPrefix + id)} }
func passkeysKey(userID string) item  { return item{"username": s(passkeysKeyPrefix + userID)} }
func pkChallengeKey(hash string) item { return item{"session_id": s(pkChallengePrefix + hash)} }

// PutPasskeyChallenge implements passkey.Store with one conditional PutItem.
func (st *Store) PutPasskeyChallenge(ctx context.Context, c passkey.Challenge) error {
	it := pkChallengeKey(c.Hash)
	it["ceremony"], it["user_id"] = s(string(c.Ceremony)), s(c.UserID)
	it["created_at"], it["valid_until"], it["expires_at"] = ms(c.CreatedAt), ms(c.ExpiresAt), sec(c.ExpiresAt.Add(tokenRetention))
	return st.putNew(ctx, it, passkey.ErrChallengeUsed, "passkey challenge")
}

// UsePasskeyChallenge implements passkey.Store with one conditional
// UpdateItem; a refusal returns the item as it was, which names the
// condition that failed. The update records this call's id, so the SDK's
// resend of a call whose answer was lost answers as the first send did.
func (st *Store) UsePasskeyChallenge(ctx context.Context, hash string, ceremony passkey.Ceremony, userID string, now time.Time) (passkey.Challenge, error) {
	call := rand.Text()
	out, err := st.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        aws.String(st.Tables.Sessions),
		Key:              pkChallengeKey(hash),
		UpdateExpression: aws.String("SET used_by = :call"),
		ConditionExpression: aws.String("ceremony = :ceremony AND user_id = :uid AND valid_until > :now AND " +
			"(attribute_not_exists(used_by) OR used_by = :call)"),
		ExpressionAttributeValues:           item{":ceremony": s(string(ceremony)), ":uid": s(userID), ":now": ms(now), ":call": s(call)},
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if failure, ok := isConditionFailed(err); ok {
		it := item(failure.Item)
		switch {
		case len(it) == 0 || it.str("ceremony") != string(ceremony) || it.str("user_id") != userID:
			return passkey.Challenge{}, passkey.ErrNoChallenge
		case it["used_by"] != nil:
			return passkey.Challenge{}, passkey.ErrChallengeUsed
		}
		return passkey.Challenge{}, passkey.ErrChallengeExpired
	}
	if err != nil {
		return passkey.Challenge{}, fmt.Errorf("dynamo: use passkey challenge: %w", err)
	}
	it := item(out.Attributes)
	return passkey.Challenge{Hash: hash, Ceremony: ceremony, UserID: userID, CreatedAt: it.ms("created_at"), ExpiresAt: it.ms("valid_until")}, nil
}

// AddPasskey implements passkey.Store with one transaction: the credential
// on condition that its id is free, its id added to the user's list, the
// messages.
func (st *Store) AddPasskey(ctx context.Context, c passkey.Credential, msgs ...outbox.Message) error {
	it := passkeyKey(c.ID)
	it["user_id"], it["name"], it["data"] = s(c.UserID), s(c.Name), b(c.Data)
	it["sign_count"], it["backup_state"], it["created_at"] = n(int64(c.SignCount)), n(bit(c.BackupState)), ms(c.CreatedAt)
	ops := []types.TransactWriteItem{
		{Put: &types.Put{
			TableName: aws.String(st.Tables.Users), Item: it,
			ConditionExpression: aws.String("attribute_not_exists(username)"),
		}},
		{Update: &types.Update{
			TableName: aws.String(st.Tables.Users), Key: passkeysKey(c.UserID),
			UpdateExpression:          aws.String("SET user_id = :uid ADD ids :id"),
			ExpressionAttributeValues: item{":uid": s(c.UserID), ":id": strs([]string{c.ID})},
		}},
	}
	ops = append(ops, st.messagePuts(msgs...)...)
	in := &dynamodb.TransactWriteItemsInput{TransactItems: ops, ClientRequestToken: aws.String(rand.Text())}
	return st.transact(ctx, in, func(reasons []types.CancellationReason) (bool, error) {
		if failed(reasons, 0) {
			return true, passkey.ErrCredentialExists
		}
		return false, nil
	})
}

func bit(v bool) int64 {
	if v {
		return 1
	}
	return 0
}

func passkeyFrom(it item) passkey.Credential {
	c := passkey.Credential{
		ID:     strings.TrimPrefix(it.str("username"), passkeyKeyPrefix),
		UserID: it.str("user_id"), Name: it.str("name"), Data: it.bytes("data"),
		SignCount: uint32(it.num("sign_count")), BackupState: it.num("backup_state") != 0, CreatedAt: it.ms("created_at"),
	}
	if _, ok := it["last_used_at"]; ok {
		c.LastUsedAt = it.ms("last_used_at")
	}
	return c
}

// GetPasskey implements passkey.Store with one strongly consistent read.
func (st *Store) GetPasskey(ctx context.Context, id string) (passkey.Credential, error) {
	out, err := st.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(st.Tables.Users), Key: passkeyKey(id), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return passkey.Credential{}, fmt.Errorf("dynamo: get passkey: %w", err)
	}
	if out.Item == nil {
		return passkey.Credential{}, passkey.ErrNoCredential
	}
	return passkeyFrom(out.Item), nil
}

// ListPasskeys implements passkey.Store: the user's list, then its
// credentials in strongly consistent batches.
func (st *Store) ListPasskeys(ctx context.Context, userID string) ([]passkey.Credential, error) {
	out, err := st.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(st.Tables.Users), Key: passkeysKey(userID), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("dynamo: list passkeys: %w", err)
	}
	ss, _ := out.Item["ids"].(*types.AttributeValueMemberSS)
	if ss == nil {
		return nil, nil
	}
	var keys []map[string]types.AttributeValue
	for _, id := range ss.Value {
		keys = append(keys, passkeyKey(id))
	}
	var creds []passkey.Credential
	for len(keys) > 0 {
		batch := keys[:min(len(keys), maxBatchGetPerCall)]
		keys = keys[len(batch):]
		for attempt := 0; len(batch) > 0; attempt++ {
			got, err := st.DB.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
				st.Tables.Users: {Keys: batch, ConsistentRead: aws.Bool(true)},
			}})
			if err != nil {
				return nil, fmt.Errorf("dynamo: list passkeys: %w", err)
			}
			for _, it := range got.Responses[st.Tables.Users] {
				if c := passkeyFrom(it); c.UserID == userID {
					creds = append(creds, c)
				}
			}
			batch = got.UnprocessedKeys[st.Tables.Users].Keys
			if len(batch) > 0 {
				if err := sleep(ctx, min(attempt, 4)); err != nil {
					return nil, err
				}
			}
		}
	}
	passkey.SortCredentials(creds)
	return creds, nil
}

// UsePasskey implements passkey.Store with one conditional UpdateItem on
// the count as read. The update records this call's id, so the SDK's
// resend of a call whose answer was lost is accepted as the first send.
func (st *Store) UsePasskey(ctx context.Context, u passkey.Use) error {
	call := rand.Text()
	_, err := st.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(st.Tables.Users),
		Key:                 passkeyKey(u.ID),
		UpdateExpression:    aws.String("SET sign_count = :count, backup_state = :bs, last_used_at = :now, used_by = :call"),
		ConditionExpression: aws.String("user_id = :uid AND (sign_count = :from OR used_by = :call)"),
		ExpressionAttributeValues: item{
			":uid": s(u.UserID), ":from": n(int64(u.From)), ":count": n(int64(u.SignCount)),
			":bs": n(bit(u.BackupState)), ":now": ms(u.Now), ":call": s(call),
		},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if failure, ok := isConditionFailed(err); ok {
		if it := item(failure.Item); len(it) == 0 || it.str("user_id") != u.UserID {
			return passkey.ErrNoCredential
		}
		return passkey.ErrCounterMoved
	}
	if err != nil {
		return fmt.Errorf("dynamo: use passkey: %w", err)
	}
	return nil
}

// RenamePasskey implements passkey.Store with one conditional UpdateItem.
func (st *Store) RenamePasskey(ctx context.Context, userID, id, name string) error {
	_, err := st.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.Tables.Users),
		Key:                       passkeyKey(id),
		UpdateExpression:          aws.String("SET #name = :name"),
		ConditionExpression:       aws.String("user_id = :uid"),
		ExpressionAttributeNames:  map[string]string{"#name": "name"},
		ExpressionAttributeValues: item{":uid": s(userID), ":name": s(name)},
	})
	if _, ok := isConditionFailed(err); ok {
		return passkey.ErrNoCredential
	}
	if err != nil {
		return fmt.Errorf("dynamo: rename passkey: %w", err)
	}
	return nil
}

// RemovePasskey implements passkey.Store with one transaction: the
// credential deleted on condition that it is the user's, its id taken off
// the user's list, the messages.
func (st *Store) RemovePasskey(ctx context.Context, userID, id string, msgs ...outbox.Message) error {
	ops := []types.TransactWriteItem{
		{Delete: &types.Delete{
			TableName: aws.String(st.Tables.Users), Key: passkeyKey(id),
			ConditionExpression: aws.String("user_id = :uid"), ExpressionAttributeValues: item{":uid": s(userID)},
		}},
		{Update: &types.Update{
			TableName: aws.String(st.Tables.Users), Key: passkeysKey(userID),
			UpdateExpression: aws.String("DELETE ids :id"), ExpressionAttributeValues: item{":id": strs([]string{id})},
		}},
	}
	ops = append(ops, st.messagePuts(msgs...)...)
	in := &dynamodb.TransactWriteItemsInput{TransactItems: ops, ClientRequestToken: aws.String(rand.Text())}
	return st.transact(ctx, in, func(reasons []types.CancellationReason) (bool, error) {
		if failed(reasons, 0) {
			return true, passkey.ErrNoCredential
		}
		return false, nil
	})
}
