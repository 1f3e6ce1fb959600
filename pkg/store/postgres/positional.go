package postgres

import (
	"context"
	"slices"
	"sync"

	"github.com/jackc/pgx/v5"
)

// positional is a query of sql/ with its named arguments (@name) rewritten
// to positional ones ($1...) once, and the names in their order.
type positional struct {
	sql   string
	names []string
}

// positionalCache keeps the rewritten queries of a Store.
type positionalCache struct {
	mu sync.RWMutex
	m  map[string]positional
}

// named returns the text of sql/<name>.sql with args as positional
// arguments. pgx rewrites a query given pgx.NamedArgs on every call,
// lexing the whole text (on the refresh's statement, about a tenth of the
// server's CPU per refresh): hot paths rewrite it once. The first call's
// argument names must be exactly the query's (pgx.StrictNamedArgs); if
// not, the query is passed with pgx.NamedArgs as before.
func (st *Store) named(name string, args pgx.NamedArgs) (string, []any) {
	st.pos.mu.RLock()
	p, ok := st.pos.m[name]
	st.pos.mu.RUnlock()
	if !ok {
		p, ok = st.rewrite(name, args)
	}
	if !ok || len(p.names) != len(args) {
		return st.q(name), []any{args}
	}
	out := make([]any, len(p.names))
	for i, n := range p.names {
		v, ok := args[n]
		if !ok {
			return st.q(name), []any{args}
		}
		out[i] = v
	}
	return p.sql, out
}

func (st *Store) rewrite(name string, args pgx.NamedArgs) (positional, bool) {
	// Each argument's value is its own name: the rewritten arguments are
	// then the names in positional order.
	markers := pgx.StrictNamedArgs{}
	for k := range args {
		markers[k] = k
	}
	sql, order, err := markers.RewriteQuery(context.Background(), nil, st.q(name), nil)
	if err != nil {
		return positional{}, false
	}
	p := positional{sql: sql}
	for _, o := range order {
		s, ok := o.(string)
		if !ok {
			return positional{}, false
		}
		p.names = append(p.names, s)
	}
	if slices.Contains(p.names, "") {
		return positional{}, false
	}
	st.pos.mu.Lock()
	if st.pos.m == nil {
		st.pos.m = map[string]positional{}
	}
	st.pos.m[name] = p
	st.pos.mu.Unlock()
	return p, true
}
