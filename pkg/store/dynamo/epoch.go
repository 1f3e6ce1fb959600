package dynamo

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rotor-auth/rotor/pkg/sessions"
	"github.com/rotor-auth/rotor/pkg/users"
)

// Every write that moves a user's credential epoch (a password change or
// reset, a lock, ending every session) deletes, in the same
// TransactWriteItems, every session the user's list names that exists, and
// removes them from the list, on condition that the list is still the one
// read (sessions_gen, which every write to the list moves, is unchanged).
// Sessions are created only with their entry in the list and only under the
// epoch they carry (CreateSession), so when the epoch moves no session of
// the older epoch is left: a refresh needs no read of the owner to refuse
// one (RotateSession).
//
// A transaction holds at most 100 items. The per-user cap keeps the live
// sessions at 90 or fewer; should a user have more than the transaction has
// room for, the surplus is deleted first, before the transaction (a failure
// in between ends those sessions without moving the epoch: the client's
// retry moves it).

// maxTransactItems is DynamoDB's limit on the items of one transaction.
const maxTransactItems = 100

// maxEndingAttempts bounds the re-reads of a user whose list changed
// between the read and the transaction (logins in that gap).
const maxEndingAttempts = 5

// errListChanged means a transaction was cancelled because the user's list
// changed since it was read: read again.
var errListChanged = errors.New("dynamo: the user's session list changed")

// ending is what an epoch move adds to its transaction.
type ending struct {
	owner   users.User
	found   bool
	remove  string // " REMOVE #m.#s0, ..." for the user's update, or ""
	cond    string // " AND <the list is unchanged>" for the user's update
	names   map[string]string
	values  item
	deletes []types.TransactWriteItem
	live    int // sessions that existed when read
}

// with merges the ending's names and values into the update's own.
func (e ending) with(names map[string]string, values item) (map[string]string, item) {
	if names == nil {
		names = map[string]string{}
	}
	maps.Copy(names, e.names)
	maps.Copy(values, e.values)
	if len(names) == 0 {
		names = nil
	}
	return names, values
}

// planEnding reads the user and which listed sessions exist (both strongly
// consistent), deletes the ones beyond room, and returns the rest of the
// ending for a transaction.
func (st *Store) planEnding(ctx context.Context, username string, room int) (ending, error) {
	out, err := st.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(st.Tables.Users),
		Key:            item{"username": s(username)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return ending{}, fmt.Errorf("dynamo: read the sessions of %s: %w", username, err)
	}
	e := ending{values: item{}}
	if out.Item == nil {
		return e, nil
	}
	e.owner, e.found = userFrom(out.Item), true
	if gen := item(out.Item).num("sessions_gen"); gen == 0 {
		e.cond = " AND attribute_not_exists(sessions_gen)"
	} else {
		e.cond, e.values[":gen"] = " AND sessions_gen = :gen", n(gen)
	}
	ids := slices.Sorted(maps.Keys(e.owner.Sessions))
	if len(ids) == 0 {
		return e, nil
	}
	var live []string
	if err := st.batchGet(ctx, st.Tables.Sessions, "session_id", ids, "session_id", func(it item) {
		live = append(live, it.str("session_id"))
	}); err != nil {
		return ending{}, err
	}
	slices.Sort(live)
	e.live = len(live)
	if len(live) > room {
		var reqs []types.WriteRequest
		for _, id := range live[room:] {
			reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: item{"session_id": s(id)}}})
		}
		if err := st.batchWrite(ctx, st.Tables.Sessions, reqs); err != nil {
			return ending{}, err
		}
		live = live[:room]
	}
	for _, id := range live {
		e.deletes = append(e.deletes, types.TransactWriteItem{Delete: &types.Delete{
			TableName: aws.String(st.Tables.Sessions),
			Key:       item{"session_id": s(id)},
		}})
	}
	e.names = map[string]string{"#m": "sessions"}
	for i, id := range ids {
		k := fmt.Sprintf("#s%d", i)
		e.names[k] = id
		if i == 0 {
			e.remove = " REMOVE "
		} else {
			e.remove += ", "
		}
		e.remove += "#m." + k
	}
	return e, nil
}

// moveEpoch runs one epoch move of the user (username, userID): set (a SET
// clause or "") and values update the user's item besides moving the epoch,
// on condition that its epoch is still the one read (or, when epoch is not
// nil, *epoch: users.ErrStale otherwise); every listed session is ended in
// the same transaction, with the writes extra (the notice a change carries,
// which then lands with it or not at all). It returns how many sessions
// existed, or users.ErrNotFound.
func (st *Store) moveEpoch(ctx context.Context, username, userID string, epoch *int64, set string, values item, extra ...types.TransactWriteItem) (int, error) {
	for attempt := 1; ; attempt++ {
		e, err := st.planEnding(ctx, username, maxTransactItems-1-len(extra))
		if err != nil {
			return 0, err
		}
		if !e.found || e.owner.ID != userID {
			return 0, users.ErrNotFound
		}
		if epoch != nil && e.owner.Epoch != *epoch {
			return 0, users.ErrStale
		}
		vals := maps.Clone(values)
		if vals == nil {
			vals = item{}
		}
		vals[":uid"], vals[":read_epoch"], vals[":inc"] = s(userID), n(e.owner.Epoch), n(1)
		names, vals := e.with(nil, vals)
		update := set + " ADD epoch :inc, sessions_gen :inc" + e.remove
		ops := append([]types.TransactWriteItem{{Update: &types.Update{
			TableName:                           aws.String(st.Tables.Users),
			Key:                                 item{"username": s(username)},
			UpdateExpression:                    aws.String(update),
			ConditionExpression:                 aws.String("user_id = :uid AND epoch = :read_epoch" + e.cond),
			ExpressionAttributeNames:            names,
			ExpressionAttributeValues:           vals,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}}}, extra...)
		ops = append(ops, e.deletes...)
		in := &dynamodb.TransactWriteItemsInput{TransactItems: ops, ClientRequestToken: aws.String(rand.Text())}
		err = st.transact(ctx, in, func(reasons []types.CancellationReason) (bool, error) {
			if !failed(reasons, 0) {
				return false, nil
			}
			u := item(reasons[0].Item)
			switch {
			case len(u) == 0 || u.str("user_id") != userID:
				return true, users.ErrNotFound
			case epoch != nil && u.num("epoch") != *epoch:
				return true, users.ErrStale
			}
			return true, errListChanged // a login, or another move, since the read
		})
		if !errors.Is(err, errListChanged) {
			return e.live, err
		}
		if attempt == maxEndingAttempts {
			return 0, fmt.Errorf("dynamo: end the sessions of %s: the list kept changing: %w", userID, err)
		}
	}
}

// EndUserSessions implements sessions.Store: one transaction moves the
// epoch and deletes every listed session (see moveEpoch).
func (st *Store) EndUserSessions(ctx context.Context, username, userID string) (int, error) {
	live, err := st.moveEpoch(ctx, username, userID, nil, "", nil)
	if errors.Is(err, users.ErrNotFound) {
		return 0, sessions.ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("dynamo: end sessions of %s: %w", userID, err)
	}
	return live, nil
}
