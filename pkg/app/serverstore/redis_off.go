//go:build rotor_noredis

package serverstore

import "github.com/rotor-auth/rotor/pkg/config"

func openRedis(config.Config, string) (Store, error) {
	return nil, notBuilt("redis", "rotor_noredis")
}
