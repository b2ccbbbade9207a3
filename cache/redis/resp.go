package redis

import (
	"strconv"
	"time"
)

// RESP2 encoding of the fast path's commands (see fastpath.go). Each
// command is appended to a buffer the connection reuses, as an array of bulk
// strings: no allocation per command, binary-safe keys and values.

// Constant command heads and arguments.
const (
	respGet    = "*2\r\n$3\r\nGET\r\n"
	respAsking = "*1\r\n$6\r\nASKING\r\n"
	respNX     = "$2\r\nNX\r\n"
	respPX     = "$2\r\nPX\r\n"
)

// appendSet appends SET key val [NX] [PX ms]: no expiry for ttl <= 0, else
// PX in whole milliseconds rounded up (ttlMillis), as the go-redis path
// sends it. A nil val is written as the empty string.
func appendSet(dst, key, val []byte, ttl time.Duration, nx bool) []byte {
	n := 3
	if nx {
		n++
	}
	if ttl > 0 {
		n += 2
	}
	dst = append(dst, '*')
	dst = strconv.AppendInt(dst, int64(n), 10)
	dst = append(dst, "\r\n$3\r\nSET\r\n"...)
	dst = appendBulk(dst, key)
	dst = appendBulk(dst, val)
	if nx {
		dst = append(dst, respNX...)
	}
	if ttl > 0 {
		var num [20]byte
		dst = append(dst, respPX...)
		dst = appendBulk(dst, strconv.AppendInt(num[:0], ttlMillis(ttl), 10))
	}
	return dst
}

// appendGet appends GET key.
func appendGet(dst, key []byte) []byte {
	return appendBulk(append(dst, respGet...), key)
}

// appendCommand appends a command of string arguments (AUTH, cold paths).
func appendCommand(dst []byte, args ...string) []byte {
	dst = append(dst, '*')
	dst = strconv.AppendInt(dst, int64(len(args)), 10)
	dst = append(dst, '\r', '\n')
	for _, a := range args {
		dst = append(dst, '$')
		dst = strconv.AppendInt(dst, int64(len(a)), 10)
		dst = append(dst, '\r', '\n')
		dst = append(dst, a...)
		dst = append(dst, '\r', '\n')
	}
	return dst
}

// appendBulk appends one bulk string: $len CRLF bytes CRLF.
func appendBulk(dst, b []byte) []byte {
	dst = append(dst, '$')
	dst = strconv.AppendInt(dst, int64(len(b)), 10)
	dst = append(dst, '\r', '\n')
	dst = append(dst, b...)
	return append(dst, '\r', '\n')
}
