//go:build !rotor_noredis

package serverstore

import (
	"errors"

	goredis "github.com/redis/go-redis/v9"

	"github.com/rotor-auth/rotor/pkg/config"
	rstore "github.com/rotor-auth/rotor/pkg/store/redis"
)

// Redis returns the Redis store for url (rediss:// for TLS), with the
// cluster client when cfg.RedisCluster is set. It connects on first use, and
// every call ends at its context's deadline (the request's store deadline),
// not at go-redis's own socket timeouts.
func Redis(cfg config.Config, url string) (*rstore.Store, error) {
	if cfg.RedisCluster {
		opt, err := goredis.ParseClusterURL(url)
		if err != nil {
			return nil, errors.New("serverstore: ROTOR_REDIS_URL does not parse as a cluster URL")
		}
		opt.ContextTimeoutEnabled = true
		return rstore.New(goredis.NewClusterClient(opt), cfg.RedisNamespace), nil
	}
	opt, err := goredis.ParseURL(url)
	if err != nil {
		return nil, errors.New("serverstore: ROTOR_REDIS_URL does not parse")
	}
	opt.ContextTimeoutEnabled = true
	return rstore.New(goredis.NewClient(opt), cfg.RedisNamespace), nil
}

func openRedis(cfg config.Config, url string) (Store, error) {
	return Redis(cfg, url)
}
