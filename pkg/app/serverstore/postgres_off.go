//go:build rotor_nopostgres

package serverstore

import "context"

func openPostgres(context.Context, string, int32) (Store, error) {
	return nil, notBuilt("postgres", "rotor_nopostgres")
}
