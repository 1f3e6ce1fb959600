package dynamo

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rotor-auth/rotor/pkg/sessions"
	"github.com/rotor-auth/rotor/pkg/throttle"
	"github.com/rotor-auth/rotor/pkg/users"
)

var (
	_ users.Store    = (*Store)(nil)
	_ sessions.Store = (*Store)(nil)
	_ throttle.Store = (*Store)(nil)
	_ users.Locker   = (*Store)(nil)
)

// API is the part of the DynamoDB client the store uses.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

// Tables names the tables.
type Tables struct {
	Users    string
	Sessions string
	Attempts string
	// Outbox holds the mail waiting to be sent (see package outbox); empty
	// in programs that neither write nor send mail.
	Outbox string
}

// Store implements the users, sessions and throttle stores on DynamoDB.
type Store struct {
	DB     API
	Tables Tables
	// BatchSize caps the keys of one BatchGetItem and the requests of one
	// BatchWriteItem; 0 means DynamoDB's own limits (100 and 25). Tests set
	// it small so the paging paths run.
	BatchSize int

	// Now is the clock of the watermark cache and of RevokeBefore's wait;
	// time.Now when nil.
	Now func() time.Time
	// Sleep waits d for RevokeBefore; a timer when nil. Tests pass one that
	// moves their clock.
	Sleep func(ctx context.Context, d time.Duration) error
	// WatermarkTTL overrides the package's WatermarkTTL, for tests only:
	// every function and the CLI must use the same value.
	WatermarkTTL time.Duration

	wm watermarkCache
}

// New returns a Store.
func New(db API, t Tables) *Store { return &Store{DB: db, Tables: t} }

// ---- attribute helpers ----

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func b(v []byte) types.AttributeValue { return &types.AttributeValueMemberB{Value: v} }
func n(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}
func ms(t time.Time) types.AttributeValue { return n(t.UnixMilli()) }
func sec(t time.Time) types.AttributeValue {
	return n(t.Unix())
}

type item map[string]types.AttributeValue

func (it item) str(k string) string {
	if v, ok := it[k].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func (it item) bytes(k string) []byte {
	if v, ok := it[k].(*types.AttributeValueMemberB); ok {
		return v.Value
	}
	return nil
}

func (it item) num(k string) int64 {
	if v, ok := it[k].(*types.AttributeValueMemberN); ok {
		x, _ := strconv.ParseInt(v.Value, 10, 64)
		return x
	}
	return 0
}

func (it item) ms(k string) time.Time  { return time.UnixMilli(it.num(k)).UTC() }
func (it item) sec(k string) time.Time { return time.Unix(it.num(k), 0).UTC() }

func isConditionFailed(err error) (*types.ConditionalCheckFailedException, bool) {
	var c *types.ConditionalCheckFailedException
	return c, errors.As(err, &c)
}

// ---- users ----

// CreateUser implements users.Store with one transaction: the user item, and
// beside it in the same table an item keyed skelPrefix+skeleton naming the
// user, each on condition that its key is free. Usernames never contain '#'
// (names.Normalize), so the two kinds of key cannot meet. The user id is the
// transaction's idempotency token.
func (st *Store) CreateUser(ctx context.Context, u users.User) error {
	ops := []types.TransactWriteItem{
		{Put: &types.Put{
			TableName: aws.String(st.Tables.Users),
			Item: item{
				"username":      s(u.Username),
				"user_id":       s(u.ID),
				"password_hash": s(u.PasswordHash),
				"created_at":    ms(u.CreatedAt),
				"updated_at":    ms(u.UpdatedAt),
				"epoch":         n(0),
				"sessions":      &types.AttributeValueMemberM{Value: item{}},
				"skeleton":      s(users.SkeletonOf(u)),
			},
			ConditionExpression:                 aws.String("attribute_not_exists(username)"),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}},
		{Put: &types.Put{
			TableName:                           aws.String(st.Tables.Users),
			Item:                                item{"username": s(skelPrefix + users.SkeletonOf(u)), "user_id": s(u.ID), "holder": s(u.Username)},
			ConditionExpression:                 aws.String("attribute_not_exists(username)"),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}},
	}
	in := &dynamodb.TransactWriteItemsInput{TransactItems: ops, ClientRequestToken: aws.String(u.ID)}
	err := st.transact(ctx, in, func(reasons []types.CancellationReason) (bool, error) {
		taken := false
		for _, r := range reasons {
			if aws.ToString(r.Code) != "ConditionalCheckFailed" {
				continue
			}
			// Our own earlier write seen by a retry of a request whose answer
			// was lost is a success (both items were written together); it
			// is never overwritten.
			if item(r.Item).str("user_id") == u.ID {
				return true, nil
			}
			taken = true
		}
		if taken {
			return true, users.ErrTaken
		}
		return false, nil
	})
	if err != nil && !errors.Is(err, users.ErrTaken) {
		return fmt.Errorf("dynamo: create user: %w", err)
	}
	return err
}

// skelPrefix starts the key of a skeleton's item in the users table.
const skelPrefix = "skel#"

// GetUser implements users.Store.
func (st *Store) GetUser(ctx context.Context, username string) (users.User, error) {
	out, err := st.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(st.Tables.Users),
		Key:            item{"username": s(username)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return users.User{}, fmt.Errorf("dynamo: get user: %w", err)
	}
	if out.Item == nil {
		return users.User{}, users.ErrNotFound
	}
	return userFrom(out.Item), nil
}

func userFrom(it item) users.User {
	u := users.User{
		ID:           it.str("user_id"),
		Username:     it.str("username"),
		PasswordHash: it.str("password_hash"),
		CreatedAt:    it.ms("created_at"),
		UpdatedAt:    it.ms("updated_at"),
		Epoch:        it.num("epoch"),
		Sessions:     map[string]time.Time{},
		Locked:       it.num("locked") != 0,
	}
	if _, ok := it["password_changed_at"]; ok {
		u.PasswordChangedAt = it.ms("password_changed_at")
	}
	emailFrom(it, &u)
	if m, ok := it["sessions"].(*types.AttributeValueMemberM); ok {
		for id := range m.Value {
			u.Sessions[id] = item(m.Value).ms(id)
		}
	}
	return u
}

func attemptsFrom(it item) throttle.State {
	return throttle.State{Failures: int(it.num("failures")), LastFailure: it.ms("last_failure")}
}

// SetPasswordHash implements users.Store: the new hash and the epoch's move,
// on condition that the epoch is still epoch, in one transaction that also
// ends every session of the user (moveEpoch).
func (st *Store) SetPasswordHash(ctx context.Context, username, userID string, epoch int64, hash string, now time.Time) error {
	_, err := st.moveEpoch(ctx, username, userID, &epoch,
		"SET password_hash = :h, updated_at = :now, password_changed_at = :now",
		item{":h": s(hash), ":now": ms(now)})
	if err != nil && !errors.Is(err, users.ErrStale) && !errors.Is(err, users.ErrNotFound) {
		return fmt.Errorf("dynamo: set password: %w", err)
	}
	return err
}

// SetLocked implements users.Locker. The flag is a number (absent or 0:
// unlocked); locking also moves the epoch, ending every session of the user
// in the same transaction (moveEpoch).
func (st *Store) SetLocked(ctx context.Context, username, userID string, locked bool, now time.Time) error {
	if locked {
		_, err := st.moveEpoch(ctx, username, userID, nil, "SET locked = :one, updated_at = :now", item{":one": n(1), ":now": ms(now)})
		if err != nil && !errors.Is(err, users.ErrNotFound) {
			return fmt.Errorf("dynamo: set locked: %w", err)
		}
		return err
	}
	_, err := st.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.Tables.Users),
		Key:                       item{"username": s(username)},
		UpdateExpression:          aws.String("SET locked = :zero, updated_at = :now"),
		ConditionExpression:       aws.String("user_id = :id"),
		ExpressionAttributeValues: item{":zero": n(0), ":now": ms(now), ":id": s(userID)},
	})
	if _, ok := isConditionFailed(err); ok {
		return users.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("dynamo: set locked: %w", err)
	}
	return nil
}

// ---- sessions ----

func sessionItem(x sessions.Session) item {
	it := item{
		"session_id":          s(x.ID),
		"user_id":             s(x.UserID),
		"username":            s(x.Username),
		"epoch":               n(x.Epoch),
		"token_hash":          b(x.TokenHash),
		"rotations":           n(int64(x.Rotations)),
		"created_at":          ms(x.CreatedAt),
		"last_used_at":        ms(x.LastUsedAt),
		"expires_at":          sec(x.ExpiresAt),
		"absolute_expires_at": sec(x.AbsoluteExpiresAt),
		"ip":                  s(x.IP),
		"user_agent":          s(x.UserAgent),
		// Created since every epoch move deletes the listed sessions in
		// its own transaction (epoch.go): see RotateSession.
		"epoch_guarded": n(1),
	}
	if len(x.PrevHash) > 0 {
		it["prev_hash"], it["salt"], it["rotated_at"] = b(x.PrevHash), b(x.Salt), ms(x.RotatedAt)
	}
	// A list, not a string set: RFC 8176 values keep their order, and a
	// set cannot be empty. Absent on sessions stored before issue 21.
	if len(x.AMR) > 0 {
		l := make([]types.AttributeValue, len(x.AMR))
		for i, m := range x.AMR {
			l[i] = s(m)
		}
		it["amr"] = &types.AttributeValueMemberL{Value: l}
	}
	if !x.AuthTime.IsZero() {
		it["auth_time"] = ms(x.AuthTime)
	}
	// Absent on a bearer session: the rotation's condition tells the two
	// apart with attribute_not_exists.
	if x.JKT != "" {
		it["jkt"] = s(x.JKT)
	}
	return it
}

func sessionFrom(it item) sessions.Session {
	x := sessions.Session{
		ID:                it.str("session_id"),
		UserID:            it.str("user_id"),
		Username:          it.str("username"),
		Epoch:             it.num("epoch"),
		TokenHash:         it.bytes("token_hash"),
		PrevHash:          it.bytes("prev_hash"),
		Salt:              it.bytes("salt"),
		Rotations:         int(it.num("rotations")),
		CreatedAt:         it.ms("created_at"),
		LastUsedAt:        it.ms("last_used_at"),
		ExpiresAt:         it.sec("expires_at"),
		AbsoluteExpiresAt: it.sec("absolute_expires_at"),
		IP:                it.str("ip"),
		UserAgent:         it.str("user_agent"),
	}
	if _, ok := it["rotated_at"]; ok {
		x.RotatedAt = it.ms("rotated_at")
	}
	if l, ok := it["amr"].(*types.AttributeValueMemberL); ok {
		for _, v := range l.Value {
			if m, ok := v.(*types.AttributeValueMemberS); ok {
				x.AMR = append(x.AMR, m.Value)
			}
		}
	}
	if _, ok := it["auth_time"]; ok {
		x.AuthTime = it.ms("auth_time")
	}
	x.JKT = it.str("jkt")
	return x
}

// CreateSession implements sessions.Store with one TransactWriteItems: put
// the session, add it to the owner's list under the condition that the
// owner's epoch is unchanged, delete the evicted sessions. The session id is
// the transaction's idempotency token, so the SDK's retry of a transaction
// whose answer was lost is a no-op.
func (st *Store) CreateSession(ctx context.Context, x sessions.Session, evict []string) error {
	names := map[string]string{"#new": x.ID}
	// sessions_gen moves with every write to the list: an epoch move
	// conditions its transaction on it (epoch.go).
	update := "SET sessions.#new = :created ADD sessions_gen :one"
	for i, id := range evict {
		k := fmt.Sprintf("#e%d", i)
		names[k] = id
		if i == 0 {
			update += " REMOVE "
		} else {
			update += ", "
		}
		update += "sessions." + k
	}
	ops := []types.TransactWriteItem{
		{Put: &types.Put{
			TableName:                           aws.String(st.Tables.Sessions),
			Item:                                sessionItem(x),
			ConditionExpression:                 aws.String("attribute_not_exists(session_id)"),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}},
		{Update: &types.Update{
			TableName:                 aws.String(st.Tables.Users),
			Key:                       item{"username": s(x.Username)},
			UpdateExpression:          aws.String(update),
			ConditionExpression:       aws.String("user_id = :uid AND epoch = :epoch"),
			ExpressionAttributeNames:  names,
			ExpressionAttributeValues: item{":created": ms(x.CreatedAt), ":uid": s(x.UserID), ":epoch": n(x.Epoch), ":one": n(1)},
		}},
	}
	for _, id := range evict {
		ops = append(ops, types.TransactWriteItem{Delete: &types.Delete{
			TableName: aws.String(st.Tables.Sessions),
			Key:       item{"session_id": s(id)},
		}})
	}
	in := &dynamodb.TransactWriteItemsInput{TransactItems: ops, ClientRequestToken: aws.String(x.ID)}
	return st.transact(ctx, in, func(reasons []types.CancellationReason) (bool, error) {
		if len(reasons) > 0 && aws.ToString(reasons[0].Code) == "ConditionalCheckFailed" {
			// The id exists: our own earlier write (a retry), or a collision.
			if bytes.Equal(item(reasons[0].Item).bytes("token_hash"), x.TokenHash) {
				return true, nil
			}
			return true, sessions.ErrConflict
		}
		if len(reasons) > 1 && aws.ToString(reasons[1].Code) == "ConditionalCheckFailed" {
			return true, sessions.ErrStale
		}
		return false, nil
	})
}

// maxTransactAttempts bounds the retries of a transaction cancelled only by
// concurrent writes to its items.
const maxTransactAttempts = 5

// transact runs a transaction, retrying a few times when it was cancelled
// only because another write to the same items was in progress. explain maps
// the cancellation reasons of a cancelled transaction to the caller's outcome;
// handled false means they are not the caller's own (a conflict is then
// retried, anything else is an error).
func (st *Store) transact(ctx context.Context, in *dynamodb.TransactWriteItemsInput, explain func([]types.CancellationReason) (handled bool, err error)) error {
	for attempt := 1; ; attempt++ {
		_, err := st.DB.TransactWriteItems(ctx, in)
		var cancelled *types.TransactionCanceledException
		if !errors.As(err, &cancelled) {
			if err != nil {
				return fmt.Errorf("dynamo: transaction: %w", err)
			}
			return nil
		}
		if handled, err := explain(cancelled.CancellationReasons); handled {
			return err
		}
		conflict := false
		for _, r := range cancelled.CancellationReasons {
			conflict = conflict || aws.ToString(r.Code) == "TransactionConflict"
		}
		if !conflict {
			return fmt.Errorf("dynamo: transaction cancelled: %w", err)
		}
		if attempt == maxTransactAttempts {
			return fmt.Errorf("dynamo: transaction: still conflicting after %d attempts: %w", attempt, err)
		}
		if err := sleep(ctx, attempt-1); err != nil {
			return err
		}
	}
}

// sleep waits before retry attempt+1: 20 ms doubling.
func sleep(ctx context.Context, attempt int) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Duration(1<<attempt) * 20 * time.Millisecond):
		return nil
	}
}

// RotateSession implements sessions.Store with one conditional UpdateItem. A
// failed condition returns the old item (ReturnValuesOnConditionCheckFailure),
// so no second read is needed to tell a grace replay from reuse. The
// revocation watermark is the one this container holds (watermark.go): it is
// in the condition, so a revoked session is never rotated, and a failed
// condition is told apart from a revoked session by the same value. The
// owner's credential epoch needs no read: every write that moves it deletes
// the sessions of the older epoch in the same transaction (epoch.go), so a
// session that exists is of its owner's current epoch.
func (st *Store) RotateSession(ctx context.Context, r sessions.Rotation) (sessions.Session, error) {
	w, err := st.watermark(ctx)
	if err != nil {
		return sessions.Session{}, err
	}
	// The DPoP key is in the same condition: a bound session rotates only
	// with its key's proof, a bearer one (no jkt) only without.
	key, values := " AND attribute_not_exists(jkt)", item{
		":presented": b(r.PresentedHash),
		":new":       b(r.NewHash),
		":salt":      b(r.Salt),
		":now_s":     sec(r.Now),
		":now_ms":    ms(r.Now),
		":exp":       sec(r.ExpiresAt),
		":one":       n(1),
		":before":    ms(w.before),
	}
	if r.JKT != "" {
		key, values[":jkt"] = " AND jkt = :jkt", s(r.JKT)
	}
	out, err := st.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(st.Tables.Sessions),
		Key:       item{"session_id": s(r.SessionID)},
		ConditionExpression: aws.String("token_hash = :presented AND expires_at > :now_s" +
			" AND absolute_expires_at > :now_s AND absolute_expires_at >= :exp AND created_at >= :before" +
			" AND attribute_exists(epoch_guarded)" + key),
		UpdateExpression: aws.String("SET token_hash = :new, prev_hash = :presented, salt = :salt," +
			" rotated_at = :now_ms, last_used_at = :now_ms, expires_at = :exp ADD rotations :one"),
		ExpressionAttributeValues:           values,
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if c, ok := isConditionFailed(err); ok {
		if len(c.Item) == 0 {
			return sessions.Session{}, sessions.ErrNotFound
		}
		// A conflict is answered from the session as it was (a grace
		// replay, a re-sent rotation): a revoked session must not reach
		// those answers.
		x := sessionFrom(c.Item)
		if err := st.revokedSince(ctx, x, w); err != nil {
			return x, err
		}
		if _, guarded := c.Item["epoch_guarded"]; !guarded {
			if err := st.guard(ctx, x); err != nil {
				return x, err
			}
			return st.RotateSession(ctx, r)
		}
		return x, sessions.ErrConflict
	}
	if err != nil {
		return sessions.Session{}, fmt.Errorf("dynamo: rotate session: %w", err)
	}
	x := sessionFrom(out.Attributes)
	if err := st.revokedSince(ctx, x, w); err != nil {
		return x, err
	}
	return x, nil
}

// guard checks, once, a session stored before epoch moves deleted the
// sessions in their own transaction (an earlier version's end-all could
// fail after moving the epoch and leave it behind): its owner's epoch must
// still be its own (ErrSuperseded otherwise) and the watermark must not
// revoke it (ErrRevoked), read strongly consistently; then it is marked
// epoch_guarded, on condition that its epoch is unchanged, and from then
// on the epoch moves' transactions guard it like any other session. A
// session deleted meanwhile is ErrNotFound.
func (st *Store) guard(ctx context.Context, x sessions.Session) error {
	u, before, err := st.userAndWatermark(ctx, x.Username)
	if err != nil {
		return err
	}
	if x.CreatedAt.Before(before) {
		return sessions.ErrRevoked
	}
	if u == nil || u.ID != x.UserID || u.Epoch != x.Epoch {
		return sessions.ErrSuperseded
	}
	_, err = st.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.Tables.Sessions),
		Key:                       item{"session_id": s(x.ID)},
		UpdateExpression:          aws.String("SET epoch_guarded = :one"),
		ConditionExpression:       aws.String("epoch = :epoch AND user_id = :uid"),
		ExpressionAttributeValues: item{":one": n(1), ":epoch": n(x.Epoch), ":uid": s(x.UserID)},
	})
	if _, ok := isConditionFailed(err); ok {
		return sessions.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("dynamo: guard session: %w", err)
	}
	return nil
}

// GetSession implements sessions.Store.
func (st *Store) GetSession(ctx context.Context, id string) (sessions.Session, error) {
	out, err := st.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(st.Tables.Sessions),
		Key:            item{"session_id": s(id)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return sessions.Session{}, fmt.Errorf("dynamo: get session: %w", err)
	}
	if out.Item == nil {
		return sessions.Session{}, sessions.ErrNotFound
	}
	return sessionFrom(out.Item), nil
}

// DeleteSession implements sessions.Store.
func (st *Store) DeleteSession(ctx context.Context, id, userID string) error {
	in := &dynamodb.DeleteItemInput{
		TableName:           aws.String(st.Tables.Sessions),
		Key:                 item{"session_id": s(id)},
		ConditionExpression: aws.String("attribute_exists(session_id)"),
	}
	if userID != "" {
		in.ConditionExpression = aws.String("user_id = :u")
		in.ExpressionAttributeValues = item{":u": s(userID)}
	}
	return st.deleteSession(ctx, in)
}

// DeleteSessionByToken implements sessions.Store.
func (st *Store) DeleteSessionByToken(ctx context.Context, id string, hash []byte) error {
	return st.deleteSession(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(st.Tables.Sessions),
		Key:                       item{"session_id": s(id)},
		ConditionExpression:       aws.String("token_hash = :h OR prev_hash = :h"),
		ExpressionAttributeValues: item{":h": b(hash)},
	})
}

func (st *Store) deleteSession(ctx context.Context, in *dynamodb.DeleteItemInput) error {
	_, err := st.DB.DeleteItem(ctx, in)
	if _, ok := isConditionFailed(err); ok {
		return sessions.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("dynamo: delete session: %w", err)
	}
	return nil
}

// ListSessions implements sessions.Store: the owner's list from the user
// item, then the sessions it names, both read strongly consistently.
func (st *Store) ListSessions(ctx context.Context, username, userID string) ([]sessions.Session, error) {
	u, err := st.GetUser(ctx, username)
	if errors.Is(err, users.ErrNotFound) || (err == nil && u.ID != userID) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []sessions.Session
	err = st.batchGet(ctx, st.Tables.Sessions, "session_id", slices.Collect(maps.Keys(u.Sessions)), "", func(it item) {
		out = append(out, sessionFrom(it))
	})
	return out, err
}

// batchGet reads the items of keys (values of the key attribute) in calls of
// at most BatchSize keys, strongly consistently, re-sending unprocessed keys.
func (st *Store) batchGet(ctx context.Context, table, key string, keys []string, projection string, each func(item)) error {
	size := st.BatchSize
	if size <= 0 || size > 100 {
		size = 100
	}
	for len(keys) > 0 {
		chunk := keys[:min(size, len(keys))]
		keys = keys[len(chunk):]
		ka := types.KeysAndAttributes{ConsistentRead: aws.Bool(true)}
		for _, k := range chunk {
			ka.Keys = append(ka.Keys, item{key: s(k)})
		}
		if projection != "" {
			ka.ProjectionExpression = aws.String(projection)
		}
		pending := map[string]types.KeysAndAttributes{table: ka}
		for attempt := 0; len(pending) > 0; attempt++ {
			if attempt == 8 {
				return fmt.Errorf("dynamo: batch get: keys still unprocessed")
			}
			if attempt > 0 {
				if err := sleep(ctx, attempt); err != nil {
					return err
				}
			}
			out, err := st.DB.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: pending})
			if err != nil {
				return fmt.Errorf("dynamo: batch get: %w", err)
			}
			for _, it := range out.Responses[table] {
				each(it)
			}
			pending = out.UnprocessedKeys
		}
	}
	return nil
}

// batchWrite sends reqs in calls of at most BatchSize (25 by default),
// re-sending unprocessed items with a short backoff.
func (st *Store) batchWrite(ctx context.Context, table string, reqs []types.WriteRequest) error {
	size := st.BatchSize
	if size <= 0 || size > 25 {
		size = 25
	}
	for len(reqs) > 0 {
		chunk := reqs[:min(size, len(reqs))]
		reqs = reqs[len(chunk):]
		pending := map[string][]types.WriteRequest{table: chunk}
		for attempt := 0; len(pending[table]) > 0; attempt++ {
			if attempt == 8 {
				return fmt.Errorf("dynamo: batch write: %d items still unprocessed", len(pending[table]))
			}
			if attempt > 0 {
				if err := sleep(ctx, attempt); err != nil {
					return err
				}
			}
			out, err := st.DB.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
			if err != nil {
				return fmt.Errorf("dynamo: batch write: %w", err)
			}
			pending = out.UnprocessedItems
		}
	}
	return nil
}

// ---- login attempts ----

// The attempts table's key attribute is called username (the table predates
// the other kinds of key); it holds the attempt key: throttle.UserKey,
// throttle.IPKey, a device token's key or throttle.SessionKey.

// GetAttempts implements throttle.Store.
func (st *Store) GetAttempts(ctx context.Context, key string) (throttle.State, error) {
	out, err := st.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(st.Tables.Attempts),
		Key:            item{"username": s(key)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return throttle.State{}, fmt.Errorf("dynamo: get attempts: %w", err)
	}
	if out.Item == nil {
		return throttle.State{}, nil
	}
	return attemptsFrom(out.Item), nil
}

// RecordFailure implements throttle.Store with an atomic ADD that counts
// each call once. The SDK resends a request whose answer was lost (a reset
// connection, a body failing its CRC32), and DynamoDB may have applied the
// first one: so each call writes a fresh attempt id, on condition that the
// item does not already carry it. A resend then fails its condition and
// returns the state the first send produced instead of counting again.
func (st *Store) RecordFailure(ctx context.Context, key string, now, expires time.Time) (throttle.State, error) {
	attempt := rand.Text()
	out, err := st.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(st.Tables.Attempts),
		Key:                                 item{"username": s(key)},
		UpdateExpression:                    aws.String("ADD failures :one SET last_failure = :now, expires_at = :exp, last_attempt = :attempt"),
		ConditionExpression:                 aws.String("attribute_not_exists(last_attempt) OR last_attempt <> :attempt"),
		ExpressionAttributeValues:           item{":one": n(1), ":now": ms(now), ":exp": sec(expires), ":attempt": s(attempt)},
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var resent *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &resent):
		// Only a resend of this very call can carry its attempt id.
		return attemptsFrom(resent.Item), nil
	case err != nil:
		return throttle.State{}, fmt.Errorf("dynamo: record failure: %w", err)
	}
	return attemptsFrom(out.Attributes), nil
}

// ResetAttempts implements throttle.Store.
func (st *Store) ResetAttempts(ctx context.Context, key string) error {
	_, err := st.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(st.Tables.Attempts),
		Key:       item{"username": s(key)},
	})
	if err != nil {
		return fmt.Errorf("dynamo: reset attempts: %w", err)
	}
	return nil
}

// ---- login ----

// GetLogin implements auth.LoginStore: the user and the attempts under each
// of keys in one BatchGetItem across both tables (strongly consistent), so a
// login's happy path is two round trips: this read and the session write.
func (st *Store) GetLogin(ctx context.Context, username string, keys []string) (users.User, []throttle.State, error) {
	pending := map[string]types.KeysAndAttributes{
		st.Tables.Users: {Keys: []map[string]types.AttributeValue{{"username": s(username)}}, ConsistentRead: aws.Bool(true)},
	}
	// BatchGetItem refuses a request naming one key twice.
	var akeys []map[string]types.AttributeValue
	for i, k := range keys {
		if !slices.Contains(keys[:i], k) {
			akeys = append(akeys, item{"username": s(k)})
		}
	}
	if len(akeys) > 0 {
		if st.Tables.Attempts == st.Tables.Users {
			return users.User{}, nil, errors.New("dynamo: get login: the users and attempts tables must differ")
		}
		pending[st.Tables.Attempts] = types.KeysAndAttributes{Keys: akeys, ConsistentRead: aws.Bool(true)}
	}
	var user item
	found := map[string]item{}
	for attempt := 0; len(pending) > 0; attempt++ {
		if attempt == 8 {
			return users.User{}, nil, fmt.Errorf("dynamo: get login: keys still unprocessed")
		}
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return users.User{}, nil, ctx.Err()
			case <-time.After(time.Duration(1<<attempt) * 10 * time.Millisecond):
			}
		}
		out, err := st.DB.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: pending})
		if err != nil {
			return users.User{}, nil, fmt.Errorf("dynamo: get login: %w", err)
		}
		for _, it := range out.Responses[st.Tables.Users] {
			user = it
		}
		for _, it := range out.Responses[st.Tables.Attempts] {
			found[item(it).str("username")] = it
		}
		pending = out.UnprocessedKeys
	}
	states := make([]throttle.State, len(keys))
	for i, k := range keys {
		if it, ok := found[k]; ok {
			states[i] = attemptsFrom(it)
		}
	}
	if user == nil {
		return users.User{}, states, users.ErrNotFound
	}
	return userFrom(user), states, nil
}
