// Package all links every cache backend into a program: importing it for
// its side effects registers the memory, redis and aerospike kinds with
// cache.Register, so that cache.Open accepts any of them.
//
//	import _ "github.com/mcdedup/mcdedup/cache/all"
//
// Binaries import it once, next to their main package; libraries import
// only package cache and leave the choice of backends to the binary.
package all

import (
	// Each backend registers its kind from init.
	_ "github.com/mcdedup/mcdedup/cache/aerospike"
	_ "github.com/mcdedup/mcdedup/cache/memory"
	_ "github.com/mcdedup/mcdedup/cache/redis"
)
