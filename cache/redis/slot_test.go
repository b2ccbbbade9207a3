package redis

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/mcdedup/mcdedup/internal/testutil/redistest"
)

func TestCRC16(t *testing.T) {
	// The check value of CRC-16/XMODEM, quoted by the Redis Cluster
	// specification.
	if got := crc16([]byte("123456789")); got != 0x31C3 {
		t.Fatalf("crc16(123456789) = %#04x, want 0x31c3", got)
	}
}

func TestKeySlotHashTags(t *testing.T) {
	slot := func(s string) uint16 { return keySlot([]byte(s)) }
	for _, tc := range []struct{ key, hashed string }{
		{"{user1000}.following", "user1000"},
		{"{user1000}.followers", "user1000"},
		{"foo{}{bar}", "foo{}{bar}"}, // an empty tag: the whole key
		{"foo{{bar}}zap", "{bar"},    // from the first '{' to the first '}' after it
		{"foo{bar}{zap}", "bar"},
		{"{", "{"},
		{"}{", "}{"},
		{"a{b", "a{b"},
		{"", ""},
	} {
		if got, want := slot(tc.key), crc16([]byte(tc.hashed))%clusterSlots; got != want {
			t.Errorf("keySlot(%q) = %d, want %d (the slot of %q)", tc.key, got, want, tc.hashed)
		}
	}
	if slot("bsp:tx:{a}1") != slot("other{a}") {
		t.Error("keys sharing a tag have different slots")
	}
}

func TestKeySlotNoAllocs(t *testing.T) {
	k := []byte("bsp:tx:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	if n := testing.AllocsPerRun(100, func() { _ = keySlot(k) }); n != 0 {
		t.Fatalf("keySlot allocates %v", n)
	}
}

// TestKeySlotMatchesServer compares keySlot with CLUSTER KEYSLOT of a real
// cluster node for random binary keys, many with hash tags.
func TestKeySlotMatchesServer(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	client := goredis.NewClient(&goredis.Options{Addr: c.Addrs()[0], Protocol: 2})
	defer client.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("ab{}{}:\x00\xff\r\n0123456789")
	const n = 5000
	keys := make([][]byte, n)
	for i := range keys {
		k := make([]byte, rng.IntN(24))
		for j := range k {
			if rng.IntN(3) == 0 {
				k[j] = byte(rng.IntN(256))
			} else {
				k[j] = alphabet[rng.IntN(len(alphabet))]
			}
		}
		keys[i] = k
	}
	keys = append(keys, []byte("bsp:tx:7f3a"), []byte("{bsp}:tx:7f3a"), []byte{})

	pipe := client.Pipeline()
	cmds := make([]*goredis.IntCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.ClusterKeySlot(ctx, string(k))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		if got, want := keySlot(k), cmds[i].Val(); int64(got) != want {
			t.Errorf("keySlot(%q) = %d, CLUSTER KEYSLOT = %d", k, got, want)
		}
	}
}
