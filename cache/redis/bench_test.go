package redis

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcdedup/mcdedup/cache"
	"github.com/mcdedup/mcdedup/internal/testutil/redistest"
)

// Benchmarks against real servers: SetNX of novel keys one per call (the
// reference's unpipelined pattern) against SetNXBatch of 64 keys per call
// (one pipelined round trip per receive batch), on a single server and on a
// three-master cluster. Each reports keys/s.

const (
	benchBatch       = 64
	benchTTL         = time.Minute
	benchParallelism = 4 // goroutines per GOMAXPROCS in the parallel variants
)

// benchTarget is a Backend under benchmark.
type benchTarget struct {
	name string
	b    *Backend
}

// benchTargets starts a server and a cluster for one benchmark function.
func benchTargets(b *testing.B) []benchTarget {
	b.Helper()
	srv := redistest.Start(b)
	cl := redistest.StartCluster(b, 3)
	return []benchTarget{
		{"redis", newBackend(b, []string{srv.Addr()}, false)},
		{"cluster3", newBackend(b, cl.Addrs(), true)},
	}
}

// keySource hands out novel keys: a run prefix and a shared counter.
type keySource struct {
	prefix []byte
	n      atomic.Uint64
}

var benchRun atomic.Uint64

func newKeySource() *keySource {
	return &keySource{prefix: []byte("bench:" + strconv.FormatUint(benchRun.Add(1), 10) + ":" +
		strconv.FormatInt(time.Now().UnixNano(), 36) + ":")}
}

// next writes a novel key into buf (reused by the caller) and returns it.
func (s *keySource) next(buf []byte) []byte {
	return strconv.AppendUint(append(buf[:0], s.prefix...), s.n.Add(1), 10)
}

// setNXOne is one SetNX of a novel key.
func setNXOne(b *testing.B, be *Backend, keys *keySource, buf *[]byte) {
	*buf = keys.next(*buf)
	ok, err := be.SetNX(context.Background(), *buf, []byte("v"), benchTTL)
	if err != nil || !ok {
		b.Fatalf("SetNX = %v, %v", ok, err)
	}
}

// batchState is one goroutine's reusable batch.
type batchState struct {
	ops  []cache.Op
	bufs [][]byte
}

func newBatchState() *batchState {
	return &batchState{ops: make([]cache.Op, benchBatch), bufs: make([][]byte, benchBatch)}
}

// setNXBatch is one SetNXBatch of benchBatch novel keys.
func setNXBatch(b *testing.B, be *Backend, keys *keySource, st *batchState) {
	for i := range st.ops {
		st.bufs[i] = keys.next(st.bufs[i])
		st.ops[i] = cache.Op{Key: st.bufs[i], Val: []byte("v"), TTL: benchTTL}
	}
	if err := be.SetNXBatch(context.Background(), st.ops); err != nil {
		b.Fatal(err)
	}
	for i := range st.ops {
		if st.ops[i].Err != nil || !st.ops[i].Created {
			b.Fatalf("op %d: Created %v, Err %v", i, st.ops[i].Created, st.ops[i].Err)
		}
	}
}

// benchWorker returns one goroutine's operation: it claims novel keys from
// keys on be.
type benchWorker func() func(b *testing.B, be *Backend, keys *keySource)

// oneKey is a worker doing one SetNX per call.
func oneKey() func(*testing.B, *Backend, *keySource) {
	var buf []byte
	return func(b *testing.B, be *Backend, keys *keySource) { setNXOne(b, be, keys, &buf) }
}

// batch64 is a worker doing one SetNXBatch of benchBatch keys per call.
func batch64() func(*testing.B, *Backend, *keySource) {
	st := newBatchState()
	return func(b *testing.B, be *Backend, keys *keySource) { setNXBatch(b, be, keys, st) }
}

// runBench runs worker against every target, from one goroutine or, when
// parallel, from benchParallelism goroutines per GOMAXPROCS, and reports
// keys/s.
func runBench(b *testing.B, worker benchWorker, parallel bool) {
	for _, tg := range benchTargets(b) {
		b.Run(tg.name, func(b *testing.B) {
			b.ReportAllocs()
			keys := newKeySource()
			if parallel {
				b.SetParallelism(benchParallelism)
				b.RunParallel(func(pb *testing.PB) {
					op := worker()
					for pb.Next() {
						op(b, tg.b, keys)
					}
				})
			} else {
				op := worker()
				for b.Loop() {
					op(b, tg.b, keys)
				}
			}
			if s := b.Elapsed().Seconds(); s > 0 {
				b.ReportMetric(float64(keys.n.Load())/s, "keys/s")
			}
		})
	}
}

// BenchmarkSetNXSingle: one SetNX (one round trip) per key, one goroutine.
func BenchmarkSetNXSingle(b *testing.B) { runBench(b, oneKey, false) }

// BenchmarkSetNXBatch64: SetNXBatch of 64 keys (one pipeline) per call, one
// goroutine.
func BenchmarkSetNXBatch64(b *testing.B) { runBench(b, batch64, false) }

// BenchmarkSetNXSingleParallel: one SetNX per key from several goroutines.
func BenchmarkSetNXSingleParallel(b *testing.B) { runBench(b, oneKey, true) }

// BenchmarkSetNXBatch64Parallel: SetNXBatch of 64 keys per call from several
// goroutines, as several hot loops do.
func BenchmarkSetNXBatch64Parallel(b *testing.B) { runBench(b, batch64, true) }
