package redis

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcdedup/mcdedup/cache"
)

// Benchmarks against real servers: SetNX of novel keys one per call (the
// reference's unpipelined pattern) against SetNXBatch of 64 keys per call
// (one pipelined round trip per receive batch), on a single server and on a
// three-master cluster, each batch through the fast path ("fast") and
// through go-redis pipelines ("goredis", Options.NoFastPath). Each reports
// keys/s and the client's CPU time per key (cpu-ns/key: this process, all
// threads, GC included; the servers are other processes), which matters
// more than keys/s on a shared box: the sidecar's CPU is the relay's.

const (
	benchBatch       = 64
	benchTTL         = time.Minute
	benchParallelism = 4 // goroutines per GOMAXPROCS in the parallel variants
)

// benchVal is the value of every benchmark key (a claim's "1").
var benchVal = []byte("1")

// benchTarget is a Backend under benchmark.
type benchTarget struct {
	name string
	b    *Backend
	fast bool
}

// benchTargets starts a server and a cluster for one benchmark function,
// with a Backend of each path on each.
func benchTargets(b *testing.B) []benchTarget {
	b.Helper()
	var out []benchTarget
	for _, tg := range startTargets(b) {
		name := "redis"
		if tg.cluster {
			name = "cluster3"
		}
		for _, p := range batchPaths {
			out = append(out, benchTarget{name + "/" + p.name, newBackend(b, tg.addrs, tg.cluster, p.mutate), p.name == "fast"})
		}
	}
	return out
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
	ok, err := be.SetNX(context.Background(), *buf, benchVal, benchTTL)
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
func setNXBatch(b testing.TB, be *Backend, keys *keySource, st *batchState) {
	for i := range st.ops {
		st.bufs[i] = keys.next(st.bufs[i])
		st.ops[i] = cache.Op{Key: st.bufs[i], Val: benchVal, TTL: benchTTL}
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

// runBench runs worker against every target from goroutines goroutines (0
// means benchParallelism per GOMAXPROCS) and reports keys/s. Batches only
// take the fast path, so single-key workers skip the go-redis targets.
func runBench(b *testing.B, worker benchWorker, goroutines int, batches bool) {
	for _, tg := range benchTargets(b) {
		if !batches && !tg.fast {
			continue
		}
		b.Run(tg.name, func(b *testing.B) {
			b.ReportAllocs()
			keys := newKeySource()
			cpu := processCPU()
			switch goroutines {
			case 0:
				b.SetParallelism(benchParallelism)
				b.RunParallel(func(pb *testing.PB) {
					op := worker()
					for pb.Next() {
						op(b, tg.b, keys)
					}
				})
			case 1:
				op := worker()
				for b.Loop() {
					op(b, tg.b, keys)
				}
			default:
				runGoroutines(b, goroutines, worker, tg.b, keys)
			}
			n := float64(keys.n.Load())
			if s := b.Elapsed().Seconds(); s > 0 {
				b.ReportMetric(n/s, "keys/s")
			}
			if used := processCPU() - cpu; used > 0 && n > 0 {
				b.ReportMetric(float64(used.Nanoseconds())/n, "cpu-ns/key")
			}
		})
	}
}

// runGoroutines runs b.N calls of worker spread over n goroutines, each
// with its own worker state.
func runGoroutines(b *testing.B, n int, worker benchWorker, be *Backend, keys *keySource) {
	var (
		next atomic.Int64
		wg   sync.WaitGroup
	)
	b.ResetTimer()
	for range n {
		wg.Go(func() {
			op := worker()
			for next.Add(1) <= int64(b.N) {
				op(b, be, keys)
			}
		})
	}
	wg.Wait()
}

// BenchmarkSetNXSingle: one SetNX (one round trip) per key, one goroutine.
func BenchmarkSetNXSingle(b *testing.B) { runBench(b, oneKey, 1, false) }

// BenchmarkSetNXBatch64: SetNXBatch of 64 keys (one pipeline) per call, one
// goroutine.
func BenchmarkSetNXBatch64(b *testing.B) { runBench(b, batch64, 1, true) }

// BenchmarkSetNXBatch64Parallel2: SetNXBatch of 64 keys per call from two
// goroutines, as two hot loops do.
func BenchmarkSetNXBatch64Parallel2(b *testing.B) { runBench(b, batch64, 2, true) }

// BenchmarkSetNXSingleParallel: one SetNX per key from several goroutines.
func BenchmarkSetNXSingleParallel(b *testing.B) { runBench(b, oneKey, 0, false) }

// BenchmarkSetNXBatch64Parallel: SetNXBatch of 64 keys per call from
// benchParallelism goroutines per GOMAXPROCS.
func BenchmarkSetNXBatch64Parallel(b *testing.B) { runBench(b, batch64, 0, true) }
