package dynamo

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rotor-auth/rotor/pkg/onetime"
	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/users"
)

// The account-recovery items live in the existing tables, under keys that
// no username (letters, digits, ". _ - @ +") and no session id (base64url)
// can take:
//
//   - users table, "email#<address>": the claim of a verified address, with
//     the owner's username ("owner") and id; exactly one per verified address,
//     written and released in the transactions that verify and change it.
//   - sessions table, "otk#<record id>": a one-time token record; its TTL
//     attribute (expires_at, seconds) is one day after the token expired,
//     its expiry proper is valid_until (ms), checked by every condition.
const (
	emailKeyPrefix = "email#"
	tokenKeyPrefix = "otk#"
	// tokenRetention is how long a record outlives its token before the
	// TTL removes it.
	tokenRetention = 24 * time.Hour
)

func emailKey(address string) item { return item{"username": s(emailKeyPrefix + address)} }
func tokenKey(id string) item      { return item{"session_id": s(tokenKeyPrefix + id)} }

// userItem is the new user u as CreateUser writes it, with its address
// (unverified) when it has one.
func userItem(u users.User) item {
	it := item{
		"username":      s(u.Username),
		"user_id":       s(u.ID),
		"password_hash": s(u.PasswordHash),
		"created_at":    ms(u.CreatedAt),
		"updated_at":    ms(u.UpdatedAt),
		"epoch":         n(0),
		"sessions":      &types.AttributeValueMemberM{Value: item{}},
		"skeleton":      s(users.SkeletonOf(u)),
	}
	if u.Email != "" {
		it["email"] = s(u.Email)
	}
	return it
}

// emailFrom adds the address attributes of a user item to u.
func emailFrom(it item, u *users.User) {
	u.Email = it.str("email")
	u.EmailVerified = it.num("email_verified") != 0
	if _, ok := it["email_verified_at"]; ok {
		u.EmailVerifiedAt = it.ms("email_verified_at")
	}
	u.PendingEmail = it.str("pending_email")
}

func tokenItem(r onetime.Record) item {
	it := item{
		"session_id":  s(tokenKeyPrefix + r.ID),
		"purpose":     s(string(r.Purpose)),
		"user_id":     s(r.UserID),
		"username":    s(r.Username),
		"epoch":       n(r.Epoch),
		"created_at":  ms(r.CreatedAt),
		"valid_until": ms(r.ExpiresAt),
		"expires_at":  sec(r.ExpiresAt.Add(tokenRetention)),
	}
	if r.Email != "" {
		it["email"] = s(r.Email)
	}
	return it
}

func tokenFrom(it item) onetime.Record {
	r := onetime.Record{
		ID:        it.str("session_id")[len(tokenKeyPrefix):],
		Purpose:   onetime.Purpose(it.str("purpose")),
		UserID:    it.str("user_id"),
		Username:  it.str("username"),
		Epoch:     it.num("epoch"),
		Email:     it.str("email"),
		CreatedAt: it.ms("created_at"),
		ExpiresAt: it.ms("valid_until"),
	}
	if _, ok := it["used_at"]; ok {
		r.UsedAt = it.ms("used_at")
	}
	return r
}

// failed reports whether the transaction item i was refused by its condition.
func failed(reasons []types.CancellationReason, i int) bool {
	return i < len(reasons) && aws.ToString(reasons[i].Code) == "ConditionalCheckFailed"
}

// messagePuts are the transaction items adding msgs (those with an id).
func (st *Store) messagePuts(msgs ...outbox.Message) []types.TransactWriteItem {
	var ops []types.TransactWriteItem
	for _, m := range msgs {
		if m.ID != "" {
			ops = append(ops, types.TransactWriteItem{Put: st.MessagePut(m)})
		}
	}
	return ops
}

// CreateAccount implements auth.AccountStore. With an address, one
// transaction puts the user, checks that no account claims the address,
// puts the verification record and its mail. When the check fails, a second
// transaction puts the user with the owner's notice instead.
func (st *Store) CreateAccount(ctx context.Context, u users.User, verify onetime.Record, sent, taken outbox.Message) error {
	if u.Email == "" {
		return st.CreateUser(ctx, u)
	}
	userPut := &types.Put{
		TableName:                           aws.String(st.Tables.Users),
		Item:                                userItem(u),
		ConditionExpression:                 aws.String("attribute_not_exists(username)"),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	// The skeleton's item, as CreateUser puts it: a look-alike of a taken
	// name is refused in the same transaction.
	skelPut := &types.Put{
		TableName:                           aws.String(st.Tables.Users),
		Item:                                item{"username": s(skelPrefix + users.SkeletonOf(u)), "user_id": s(u.ID), "holder": s(u.Username)},
		ConditionExpression:                 aws.String("attribute_not_exists(username)"),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	// userTaken tells a retried request (the user and its skeleton are
	// ours: success) from a taken username or skeleton, when item 0 or 1
	// failed.
	userTaken := func(reasons []types.CancellationReason) (bool, error) {
		taken := false
		for i := range 2 {
			if !failed(reasons, i) {
				continue
			}
			if item(reasons[i].Item).str("user_id") == u.ID {
				return true, nil
			}
			taken = true
		}
		if taken {
			return true, users.ErrTaken
		}
		return false, nil
	}
	ops := append([]types.TransactWriteItem{
		{Put: userPut},
		{Put: skelPut},
		{ConditionCheck: &types.ConditionCheck{
			TableName:           aws.String(st.Tables.Users),
			Key:                 emailKey(u.Email),
			ConditionExpression: aws.String("attribute_not_exists(username)"),
		}},
		{Put: &types.Put{
			TableName:           aws.String(st.Tables.Sessions),
			Item:                tokenItem(verify),
			ConditionExpression: aws.String("attribute_not_exists(session_id)"),
		}},
	}, st.messagePuts(sent)...)
	claimed := false
	err := st.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: ops}, func(reasons []types.CancellationReason) (bool, error) {
		if handled, err := userTaken(reasons); handled {
			return true, err
		}
		if failed(reasons, 2) {
			claimed = true
			return true, nil
		}
		return false, nil
	})
	if err != nil || !claimed {
		return err
	}
	// The address is another account's: the user all the same, and the
	// owner's notice, never the token.
	ops = append([]types.TransactWriteItem{{Put: userPut}, {Put: skelPut}}, st.messagePuts(taken)...)
	err = st.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: ops}, userTaken)
	if err != nil {
		return err
	}
	return users.ErrEmailTaken
}

// IssueToken implements auth.AccountStore with one transaction: the user's
// id and epoch checked (and, for an address change, the pending address
// set), the record and the messages put.
func (st *Store) IssueToken(ctx context.Context, rec onetime.Record, msgs ...outbox.Message) error {
	owner := types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName:                           aws.String(st.Tables.Users),
		Key:                                 item{"username": s(rec.Username)},
		ConditionExpression:                 aws.String("user_id = :uid AND epoch = :epoch"),
		ExpressionAttributeValues:           item{":uid": s(rec.UserID), ":epoch": n(rec.Epoch)},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}}
	if rec.Purpose == onetime.EmailChange {
		c := owner.ConditionCheck
		owner = types.TransactWriteItem{Update: &types.Update{
			TableName:                           c.TableName,
			Key:                                 c.Key,
			UpdateExpression:                    aws.String("SET pending_email = :pending"),
			ConditionExpression:                 c.ConditionExpression,
			ExpressionAttributeValues:           item{":uid": s(rec.UserID), ":epoch": n(rec.Epoch), ":pending": s(rec.Email)},
			ReturnValuesOnConditionCheckFailure: c.ReturnValuesOnConditionCheckFailure,
		}}
	}
	ops := append([]types.TransactWriteItem{owner, {Put: &types.Put{
		TableName:           aws.String(st.Tables.Sessions),
		Item:                tokenItem(rec),
		ConditionExpression: aws.String("attribute_not_exists(session_id)"),
	}}}, st.messagePuts(msgs...)...)
	return st.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: ops}, func(reasons []types.CancellationReason) (bool, error) {
		switch {
		case failed(reasons, 1):
			return true, nil // the record exists: our own earlier write
		case failed(reasons, 0):
			// The record may exist all the same (a retry after the epoch
			// moved) when the condition that failed first hid it.
			if _, err := st.GetToken(ctx, rec.ID); err == nil {
				return true, nil
			}
			if it := item(reasons[0].Item); it.str("user_id") != rec.UserID {
				return true, users.ErrNotFound
			}
			return true, onetime.ErrStale
		}
		return false, nil
	})
}

// GetToken implements auth.AccountStore with one strongly consistent read.
func (st *Store) GetToken(ctx context.Context, id string) (onetime.Record, error) {
	out, err := st.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(st.Tables.Sessions),
		Key:            tokenKey(id),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return onetime.Record{}, fmt.Errorf("dynamo: get token: %w", err)
	}
	if out.Item == nil {
		return onetime.Record{}, onetime.ErrNotFound
	}
	return tokenFrom(out.Item), nil
}

// maxChangeAttempts bounds the re-reads of an address change whose user
// item moved between its read and its transaction.
const maxChangeAttempts = 4

// UseToken implements auth.AccountStore with one transaction: the record
// marked used on condition that it is unused and unexpired, the user updated
// on the purpose's conditions, the address claimed (and for a change, the
// old claim released), the messages put. The cancellation reasons (with the
// items as they were) say which condition failed. A change first reads the
// user, to know which claim to release, and conditions its write on what it
// read. The user is read again after the write, to return it.
func (st *Store) UseToken(ctx context.Context, use onetime.Use) (users.User, error) {
	rec := use.Record
	// The SDK resends a transaction whose answer was lost, and DynamoDB may
	// have applied the first send: the record then names this call, and
	// the resend's failed condition is our own success, not a second use.
	call := rand.Text()
	for attempt := 1; ; attempt++ {
		var old users.User
		if rec.Purpose == onetime.EmailChange {
			var err error
			if old, err = st.GetUser(ctx, rec.Username); err != nil && !errors.Is(err, users.ErrNotFound) {
				return users.User{}, err
			}
		}
		retry, err := st.useToken(ctx, use, old, call)
		if err != nil {
			return users.User{}, err
		}
		if !retry {
			break
		}
		if attempt == maxChangeAttempts {
			return users.User{}, fmt.Errorf("dynamo: use token: the user kept changing")
		}
	}
	u, err := st.GetUser(ctx, rec.Username)
	if err != nil {
		return users.User{}, fmt.Errorf("dynamo: use token: read the user back: %w", err)
	}
	return u, nil
}

// useToken is one transaction of UseToken, marking the record used by call;
// old is the user as read before it (an address change only). retry means
// the user changed since old was read.
func (st *Store) useToken(ctx context.Context, use onetime.Use, old users.User, call string) (retry bool, err error) {
	rec := use.Record
	values := item{":uid": s(rec.UserID), ":now": ms(use.Now)}
	var update, cond string
	var end ending
	switch rec.Purpose {
	case onetime.VerifyEmail:
		update = "SET email_verified = :one, email_verified_at = :now"
		cond = "user_id = :uid AND email = :email"
		values[":one"], values[":email"] = n(1), s(rec.Email)
	case onetime.EmailChange:
		update = "SET email = :email, email_verified = :one, email_verified_at = :now REMOVE pending_email"
		cond = "user_id = :uid AND epoch = :epoch AND pending_email = :email"
		values[":one"], values[":email"], values[":epoch"] = n(1), s(rec.Email), n(rec.Epoch)
		// What the old address was when read decides the release: the
		// write holds only while it still is.
		if old.Email == "" {
			cond += " AND attribute_not_exists(email)"
		} else {
			cond += " AND email = :old"
			values[":old"] = s(old.Email)
		}
		if old.EmailVerified {
			cond += " AND email_verified = :one"
		} else {
			cond += " AND (attribute_not_exists(email_verified) OR email_verified = :zero)"
			values[":zero"] = n(0)
		}
	case onetime.PasswordReset:
		// The reset moves the epoch: every session of the user ends in
		// this same transaction (epoch.go), so none of the older epoch
		// is left to refresh.
		room := maxTransactItems - 2 - len(st.messagePuts(use.Messages...))
		if end, err = st.planEnding(ctx, rec.Username, room); err != nil {
			return false, err
		}
		update = "SET password_hash = :h, updated_at = :now, password_changed_at = :now ADD epoch :inc, sessions_gen :inc" + end.remove
		cond = "user_id = :uid AND epoch = :epoch" + end.cond
		values[":h"], values[":epoch"], values[":inc"] = s(use.PasswordHash), n(rec.Epoch), n(1)
	default:
		return false, onetime.ErrNotFound
	}
	names, values := end.with(nil, values)
	ops := []types.TransactWriteItem{
		{Update: &types.Update{
			TableName:        aws.String(st.Tables.Sessions),
			Key:              tokenKey(rec.ID),
			UpdateExpression: aws.String("SET used_at = :now, used_by = :call"),
			ConditionExpression: aws.String("purpose = :purpose AND user_id = :uid AND username = :name" +
				" AND attribute_not_exists(used_at) AND valid_until > :now"),
			ExpressionAttributeValues:           item{":purpose": s(string(rec.Purpose)), ":uid": s(rec.UserID), ":name": s(rec.Username), ":now": ms(use.Now), ":call": s(call)},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}},
		{Update: &types.Update{
			TableName:                           aws.String(st.Tables.Users),
			Key:                                 item{"username": s(rec.Username)},
			UpdateExpression:                    aws.String(update),
			ConditionExpression:                 aws.String(cond),
			ExpressionAttributeNames:            names,
			ExpressionAttributeValues:           values,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}},
	}
	ops = append(ops, end.deletes...)
	claim := rec.Purpose == onetime.VerifyEmail || rec.Purpose == onetime.EmailChange
	if claim {
		ops = append(ops, types.TransactWriteItem{Put: &types.Put{
			TableName: aws.String(st.Tables.Users),
			Item: item{
				"username": s(emailKeyPrefix + rec.Email),
				"owner":    s(rec.Username),
				"user_id":  s(rec.UserID),
			},
			ConditionExpression:       aws.String("attribute_not_exists(username) OR (#owner = :name AND user_id = :uid)"),
			ExpressionAttributeNames:  map[string]string{"#owner": "owner"},
			ExpressionAttributeValues: item{":name": s(rec.Username), ":uid": s(rec.UserID)},
		}})
	}
	if rec.Purpose == onetime.EmailChange && old.EmailVerified && old.Email != "" && old.Email != rec.Email {
		ops = append(ops, types.TransactWriteItem{Delete: &types.Delete{
			TableName:                 aws.String(st.Tables.Users),
			Key:                       emailKey(old.Email),
			ConditionExpression:       aws.String("attribute_not_exists(username) OR (#owner = :name AND user_id = :uid)"),
			ExpressionAttributeNames:  map[string]string{"#owner": "owner"},
			ExpressionAttributeValues: item{":name": s(rec.Username), ":uid": s(rec.UserID)},
		}})
	}
	ops = append(ops, st.messagePuts(use.Messages...)...)
	err = st.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: ops}, func(reasons []types.CancellationReason) (bool, error) {
		switch {
		case failed(reasons, 0):
			t := item(reasons[0].Item)
			switch {
			case t.str("used_by") == call:
				return true, nil // this very call's write, resent by the SDK
			case len(t) == 0 || t.str("purpose") != string(rec.Purpose) || t.str("user_id") != rec.UserID || t.str("username") != rec.Username:
				return true, onetime.ErrNotFound
			case t["used_at"] != nil:
				return true, onetime.ErrUsed
			}
			return true, onetime.ErrExpired
		case failed(reasons, 1):
			u := item(reasons[1].Item)
			if rec.Purpose == onetime.EmailChange && len(u) > 0 && u.str("user_id") == rec.UserID &&
				u.num("epoch") == rec.Epoch && u.str("pending_email") == rec.Email {
				retry = true // only the old address moved since the read
				return true, nil
			}
			if rec.Purpose == onetime.PasswordReset && len(u) > 0 && u.str("user_id") == rec.UserID && u.num("epoch") == rec.Epoch {
				retry = true // only the session list changed since the read (a login)
				return true, nil
			}
			return true, onetime.ErrStale
		case claim && failed(reasons, 2):
			return true, users.ErrEmailTaken
		}
		return false, nil
	})
	return retry, err
}

// UserByEmail implements auth.AccountStore: the address's claim, then its
// owner, both read strongly consistently; the owner must still hold the
// address, verified.
func (st *Store) UserByEmail(ctx context.Context, email string) (users.User, error) {
	out, err := st.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(st.Tables.Users),
		Key:            emailKey(email),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return users.User{}, fmt.Errorf("dynamo: user by email: %w", err)
	}
	if out.Item == nil {
		return users.User{}, users.ErrNotFound
	}
	c := item(out.Item)
	u, err := st.GetUser(ctx, c.str("owner"))
	if err != nil {
		return users.User{}, err
	}
	if u.ID != c.str("user_id") || u.Email != email || !u.EmailVerified {
		return users.User{}, users.ErrNotFound
	}
	return u, nil
}

// AddMessages implements auth.AccountStore: one transaction of the
// messages' puts. A message already stored (a retried request) is kept.
func (st *Store) AddMessages(ctx context.Context, msgs ...outbox.Message) error {
	ops := st.messagePuts(msgs...)
	if len(ops) == 0 {
		return nil
	}
	return st.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: ops}, func(reasons []types.CancellationReason) (bool, error) {
		for i := range reasons {
			if failed(reasons, i) {
				return true, nil // stored already: the write is a retry
			}
		}
		return false, nil
	})
}

// ChangePassword implements auth.AccountStore: SetPasswordHash's
// transaction (the new hash, the epoch's move and the end of every listed
// session: moveEpoch) with the puts of msgs, so the notice lands with the
// change or not at all, and no session of the old epoch outlives it (a
// refresh reads no owner: see moveEpoch). Without messages it is
// SetPasswordHash.
func (st *Store) ChangePassword(ctx context.Context, username, userID string, epoch int64, hash string, now time.Time, msgs ...outbox.Message) error {
	puts := st.messagePuts(msgs...)
	if len(puts) == 0 {
		return st.SetPasswordHash(ctx, username, userID, epoch, hash, now)
	}
	_, err := st.moveEpoch(ctx, username, userID, &epoch,
		"SET password_hash = :h, updated_at = :now, password_changed_at = :now",
		item{":h": s(hash), ":now": ms(now)}, puts...)
	if err != nil && !errors.Is(err, users.ErrStale) && !errors.Is(err, users.ErrNotFound) {
		return fmt.Errorf("dynamo: change password: %w", err)
	}
	return err
}
