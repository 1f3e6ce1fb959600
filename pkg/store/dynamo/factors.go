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

	"github.com/rotor-auth/rotor/pkg/mfa"
)

var _ mfa.Store = (*Store)(nil)

// The second-factor items live in the existing tables, under keys no
// username and no session id can take:
//
//   - users table, "mfa#<user id>": the user's factor: the sealed secret
//     (sealed), confirmed (0/1), created_at and confirmed_at (ms), the last
//     accepted time step (last_step) and the keyed hashes of the unused
//     recovery codes (codes, a string set; absent when empty).
//   - sessions table, "mft#<record id>": an mfa_token record; its TTL
//     attribute (expires_at, seconds) is one day after the token expired,
//     its expiry proper is valid_until (ms), checked by every condition.
const (
	factorKeyPrefix    = "mfa#"
	challengeKeyPrefix = "mft#"
)

func factorKey(userID string) item         { return item{"username": s(factorKeyPrefix + userID)} }
func challengeKey(id string) item          { return item{"session_id": s(challengeKeyPrefix + id)} }
func strs(v []string) types.AttributeValue { return &types.AttributeValueMemberSS{Value: v} }

func factorFrom(it item) mfa.Factor {
	f := mfa.Factor{
		UserID:    it.str("user_id"),
		Sealed:    it.str("sealed"),
		Confirmed: it.num("confirmed") != 0,
		CreatedAt: it.ms("created_at"),
		LastStep:  it.num("last_step"),
	}
	if _, ok := it["confirmed_at"]; ok {
		f.ConfirmedAt = it.ms("confirmed_at")
	}
	if ss, ok := it["codes"].(*types.AttributeValueMemberSS); ok {
		f.Codes = append([]string(nil), ss.Value...)
	}
	return f
}

// GetFactor implements mfa.Store with one strongly consistent read.
func (st *Store) GetFactor(ctx context.Context, userID string) (mfa.Factor, error) {
	out, err := st.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(st.Tables.Users),
		Key:            factorKey(userID),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return mfa.Factor{}, fmt.Errorf("dynamo: get factor: %w", err)
	}
	if out.Item == nil {
		return mfa.Factor{}, mfa.ErrNoFactor
	}
	return factorFrom(out.Item), nil
}

// PutFactor implements mfa.Store with one conditional PutItem.
func (st *Store) PutFactor(ctx context.Context, f mfa.Factor) error {
	it := factorKey(f.UserID)
	it["user_id"], it["sealed"], it["confirmed"], it["created_at"], it["last_step"] = s(f.UserID), s(f.Sealed), n(0), ms(f.CreatedAt), n(0)
	_, err := st.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(st.Tables.Users),
		Item:                      it,
		ConditionExpression:       aws.String("attribute_not_exists(username) OR confirmed = :zero"),
		ExpressionAttributeValues: item{":zero": n(0)},
	})
	if _, ok := isConditionFailed(err); ok {
		return mfa.ErrEnrolled
	}
	if err != nil {
		return fmt.Errorf("dynamo: put factor: %w", err)
	}
	return nil
}

// UseFactor implements mfa.Store with one transaction: the factor updated
// (or deleted) on its conditions, the mfa_token record marked used on its
// own, the messages put. The cancellation reasons (with the items as they
// were) say which condition failed. A client request token makes the SDK's
// resend of a transaction whose answer was lost the same transaction, not a
// second use refused by the first one's write.
func (st *Store) UseFactor(ctx context.Context, u mfa.Use) error {
	values := item{":created": ms(u.CreatedAt)}
	cond := "created_at = :created"
	var set, del []string
	if u.Step > 0 {
		cond += " AND last_step < :step"
		set = append(set, "last_step = :step")
		values[":step"] = n(u.Step)
	}
	if u.Code != "" {
		cond += " AND contains(codes, :code)"
		values[":code"] = s(u.Code)
		if u.Codes == nil {
			del = append(del, "codes :codeset")
			values[":codeset"] = strs([]string{u.Code})
		}
	}
	if u.Confirm {
		cond += " AND confirmed = :zero"
		set = append(set, "confirmed = :one", "confirmed_at = :now")
		values[":zero"], values[":one"], values[":now"] = n(0), n(1), ms(u.Now)
	}
	remove := ""
	if u.Codes != nil {
		if len(u.Codes) == 0 {
			remove = " REMOVE codes"
		} else {
			set = append(set, "codes = :codes")
			values[":codes"] = strs(u.Codes)
		}
	}
	if u.Sealed != "" {
		set = append(set, "sealed = :sealed")
		values[":sealed"] = s(u.Sealed)
	}
	var factor types.TransactWriteItem
	if u.Remove {
		factor.Delete = &types.Delete{
			TableName: aws.String(st.Tables.Users), Key: factorKey(u.UserID),
			ConditionExpression: aws.String(cond), ExpressionAttributeValues: values,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}
	} else {
		expr := ""
		if len(set) > 0 {
			expr = "SET " + strings.Join(set, ", ")
		}
		if len(del) > 0 {
			expr += " DELETE " + strings.Join(del, ", ")
		}
		expr += remove
		if expr == "" {
			expr = "SET created_at = :created"
		}
		factor.Update = &types.Update{
			TableName: aws.String(st.Tables.Users), Key: factorKey(u.UserID),
			UpdateExpression: aws.String(expr), ConditionExpression: aws.String(cond), ExpressionAttributeValues: values,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}
	}
	ops := []types.TransactWriteItem{factor}
	if u.Challenge != "" {
		ops = append(ops, types.TransactWriteItem{Update: &types.Update{
			TableName:                           aws.String(st.Tables.Sessions),
			Key:                                 challengeKey(u.Challenge),
			UpdateExpression:                    aws.String("SET used_at = :now"),
			ConditionExpression:                 aws.String("user_id = :uid AND attribute_not_exists(used_at) AND valid_until > :now"),
			ExpressionAttributeValues:           item{":uid": s(u.UserID), ":now": ms(u.Now)},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}})
	}
	ops = append(ops, st.messagePuts(u.Messages...)...)
	in := &dynamodb.TransactWriteItemsInput{TransactItems: ops, ClientRequestToken: aws.String(rand.Text())}
	return st.transact(ctx, in, func(reasons []types.CancellationReason) (bool, error) {
		if failed(reasons, 0) {
			return true, factorRefusal(item(reasons[0].Item), u)
		}
		if u.Challenge != "" && failed(reasons, 1) {
			return true, challengeRefusal(item(reasons[1].Item), u)
		}
		return false, nil
	})
}

// factorRefusal names the condition of u that the factor item it failed.
func factorRefusal(it item, u mfa.Use) error {
	if len(it) == 0 || !it.ms("created_at").Equal(u.CreatedAt.Truncate(time.Millisecond)) {
		return mfa.ErrNoFactor
	}
	f := factorFrom(it)
	switch {
	case u.Step > 0 && u.Step <= f.LastStep:
		return mfa.ErrReplayed
	case u.Code != "":
		return mfa.ErrCodeUsed
	}
	return mfa.ErrEnrolled
}

// challengeRefusal names the condition of u that the record it failed.
func challengeRefusal(it item, u mfa.Use) error {
	switch {
	case len(it) == 0 || it.str("user_id") != u.UserID:
		return mfa.ErrNoChallenge
	case it["used_at"] != nil:
		return mfa.ErrChallengeUsed
	}
	return mfa.ErrChallengeExpired
}

// PutChallenge implements mfa.Store with one conditional PutItem.
func (st *Store) PutChallenge(ctx context.Context, c mfa.Challenge) error {
	it := challengeKey(c.ID)
	it["user_id"], it["username"], it["epoch"], it["device"] = s(c.UserID), s(c.Username), n(c.Epoch), s(c.Device)
	it["created_at"], it["valid_until"], it["expires_at"] = ms(c.CreatedAt), ms(c.ExpiresAt), sec(c.ExpiresAt.Add(tokenRetention))
	return st.putNew(ctx, it, mfa.ErrChallengeUsed, "mfa_token record")
}

// putNew puts the item it into the sessions table on condition that its key
// is new (one conditional PutItem): taken when the key exists.
func (st *Store) putNew(ctx context.Context, it item, taken error, what string) error {
	_, err := st.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String(st.Tables.Sessions),
		Item:                it,
		ConditionExpression: aws.String("attribute_not_exists(session_id)"),
	})
	if _, ok := isConditionFailed(err); ok {
		return taken
	}
	if err != nil {
		return fmt.Errorf("dynamo: put %s: %w", what, err)
	}
	return nil
}

// GetChallenge implements mfa.Store with one strongly consistent read.
func (st *Store) GetChallenge(ctx context.Context, id string) (mfa.Challenge, error) {
	out, err := st.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(st.Tables.Sessions),
		Key:            challengeKey(id),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return mfa.Challenge{}, fmt.Errorf("dynamo: get mfa_token record: %w", err)
	}
	if out.Item == nil {
		return mfa.Challenge{}, mfa.ErrNoChallenge
	}
	it := item(out.Item)
	c := mfa.Challenge{
		ID: id, UserID: it.str("user_id"), Username: it.str("username"), Epoch: it.num("epoch"), Device: it.str("device"),
		CreatedAt: it.ms("created_at"), ExpiresAt: it.ms("valid_until"),
	}
	if _, ok := it["used_at"]; ok {
		c.UsedAt = it.ms("used_at")
	}
	return c, nil
}
