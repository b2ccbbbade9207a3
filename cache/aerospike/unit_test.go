package aerospike

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	as "github.com/aerospike/aerospike-client-go/v8"
	"github.com/aerospike/aerospike-client-go/v8/types"

	"github.com/mcdedup/mcdedup/cache"
)

func TestExpiration(t *testing.T) {
	for _, tc := range []struct {
		ttl  time.Duration
		want uint32
	}{
		{0, as.TTLDontExpire},
		{-time.Second, as.TTLDontExpire},
		{time.Nanosecond, 1},
		{time.Millisecond, 1},
		{999 * time.Millisecond, 1},
		{time.Second, 1},
		{time.Second + 1, 2},
		{1500 * time.Millisecond, 2},
		{time.Minute, 60},
		{10 * time.Minute, 600},
		{math.MaxInt64, math.MaxUint32 - 2}, // never one of the special values
	} {
		if got := expiration(tc.ttl); got != tc.want {
			t.Errorf("expiration(%v) = %d, want %d", tc.ttl, got, tc.want)
		}
	}
}

func TestTimeout(t *testing.T) {
	const op = 50 * time.Millisecond
	if d, err := timeout(context.Background(), op); err != nil || d != op {
		t.Errorf("no deadline: %v, %v; want %v", d, err, op)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if d, err := timeout(ctx, op); err != nil || d <= 0 || d > 10*time.Millisecond {
		t.Errorf("earlier deadline: %v, %v; want <= 10ms", d, err)
	}
	late, cancel2 := context.WithTimeout(context.Background(), time.Hour)
	defer cancel2()
	if d, err := timeout(late, op); err != nil || d != op {
		t.Errorf("later deadline: %v, %v; want %v", d, err, op)
	}
	canceled, cancel3 := context.WithCancel(context.Background())
	cancel3()
	if _, err := timeout(canceled, op); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
	past, cancel4 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel4()
	if _, err := timeout(past, op); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("past deadline: %v", err)
	}
}

// TestPoliciesNoRetries pins the no-hidden-retry contract: the client's
// defaults retry reads twice, so every policy must set MaxRetries 0.
func TestPoliciesNoRetries(t *testing.T) {
	const d = 42 * time.Millisecond
	check := func(name string, p as.BasePolicy) {
		t.Helper()
		if p.MaxRetries != 0 || p.TotalTimeout != d || p.SocketTimeout != d {
			t.Errorf("%s: MaxRetries %d TotalTimeout %v SocketTimeout %v; want 0, %v, %v",
				name, p.MaxRetries, p.TotalTimeout, p.SocketTimeout, d, d)
		}
	}
	check("base", basePolicy(d))
	wp := writePolicy(d, 1500*time.Millisecond, as.CREATE_ONLY)
	check("write", wp.BasePolicy)
	if wp.RecordExistsAction != as.CREATE_ONLY || wp.Expiration != 2 || !wp.SendKey {
		t.Errorf("write policy %+v", wp)
	}
	check("batch", batchPolicy(d).BasePolicy)
	bwp := batchWritePolicy(0, as.REPLACE)
	if bwp.RecordExistsAction != as.REPLACE || bwp.Expiration != as.TTLDontExpire || !bwp.SendKey {
		t.Errorf("batch write policy %+v", bwp)
	}
}

func TestHasCode(t *testing.T) {
	exists := &as.AerospikeError{ResultCode: types.KEY_EXISTS_ERROR}
	if !hasCode(exists, types.KEY_EXISTS_ERROR) {
		t.Error("KEY_EXISTS not recognised")
	}
	if !hasCode(fmt.Errorf("wrapped: %w", exists), types.KEY_NOT_FOUND_ERROR, types.KEY_EXISTS_ERROR) {
		t.Error("wrapped KEY_EXISTS not recognised")
	}
	if hasCode(exists, types.KEY_NOT_FOUND_ERROR) || hasCode(errors.New("x"), types.KEY_EXISTS_ERROR) || hasCode(nil, types.OK) {
		t.Error("false positive")
	}
	if asError(nil) != nil {
		t.Error("asError(nil) != nil")
	}
}

func TestBinValue(t *testing.T) {
	for _, tc := range []struct {
		name string
		rec  *as.Record
		want []byte
		err  bool
	}{
		{"nil record", nil, nil, false},
		{"blob", &as.Record{Bins: as.BinMap{binName: []byte("v")}}, []byte("v"), false},
		{"empty blob", &as.Record{Bins: as.BinMap{binName: []byte{}}}, []byte{}, false},
		{"nil blob", &as.Record{Bins: as.BinMap{binName: []byte(nil)}}, []byte{}, false},
		{"no bin", &as.Record{Bins: as.BinMap{}}, []byte{}, false},
		{"string", &as.Record{Bins: as.BinMap{binName: "s"}}, []byte("s"), false},
		{"int", &as.Record{Bins: as.BinMap{binName: 7}}, nil, true},
	} {
		got, err := binValue(tc.rec)
		if (err != nil) != tc.err || (got == nil) != (tc.want == nil) || string(got) != string(tc.want) {
			t.Errorf("%s: binValue = %#v, %v; want %#v (err %v)", tc.name, got, err, tc.want, tc.err)
		}
	}
	src := []byte("abc")
	got, _ := binValue(&as.Record{Bins: as.BinMap{binName: src}})
	got[0] = 'X'
	if string(src) != "abc" {
		t.Error("binValue aliases the record's bytes")
	}
}

func TestSentIndex(t *testing.T) {
	ops := []cache.Op{{Key: []byte("a")}, {Key: []byte("b")}, {Key: []byte("a")}, {Key: []byte("c")}, {Key: []byte("a")}}
	if got, want := sentIndex(ops, true), []int{0, 1, 0, 3, 0}; !slices.Equal(got, want) {
		t.Errorf("first: %v, want %v", got, want)
	}
	if got, want := sentIndex(ops, false), []int{4, 1, 4, 3, 4}; !slices.Equal(got, want) {
		t.Errorf("last: %v, want %v", got, want)
	}
}

// TestBatchResults checks how each batch kind maps a record's result code.
func TestBatchResults(t *testing.T) {
	batchErr := errors.New("node down")
	rec := func(code types.ResultCode, err error) *as.BatchRecord {
		br := &as.BatchRecord{ResultCode: code}
		if err != nil {
			br.Err = &as.AerospikeError{ResultCode: code}
		}
		return br
	}
	// SetNX: OK creates, KEY_EXISTS is (false, nil), anything else errs.
	for _, tc := range []struct {
		br      *as.BatchRecord
		created bool
		err     bool
	}{
		{rec(types.OK, nil), true, false},
		{rec(types.KEY_EXISTS_ERROR, errors.New("")), false, false},
		{rec(types.TIMEOUT, errors.New("")), false, true},
		{rec(types.NO_RESPONSE, nil), false, true},
	} {
		var op cache.Op
		err := setNXBatch.result(&op, tc.br, batchErr)
		if op.Created != tc.created || (err != nil) != tc.err {
			t.Errorf("setnx %v: Created %v err %v", tc.br.ResultCode, op.Created, err)
		}
	}
	// NO_RESPONSE carries the batch's error.
	var op cache.Op
	if err := setBatch.result(&op, rec(types.NO_RESPONSE, nil), batchErr); !errors.Is(err, batchErr) {
		t.Errorf("no response: %v, want the batch error", err)
	}
	// Get: OK reads the bin, KEY_NOT_FOUND is a miss.
	ok := rec(types.OK, nil)
	ok.Record = &as.Record{Bins: as.BinMap{binName: []byte("v")}}
	op = cache.Op{}
	if err := getBatch.result(&op, ok, nil); err != nil || string(op.Val) != "v" {
		t.Errorf("get OK: %q, %v", op.Val, err)
	}
	op = cache.Op{}
	if err := getBatch.result(&op, rec(types.KEY_NOT_FOUND_ERROR, errors.New("")), nil); err != nil || op.Val != nil {
		t.Errorf("get miss: %q, %v", op.Val, err)
	}
	// Duplicates share the sent op's outcome; a duplicate never creates.
	sent := cache.Op{Created: true, Val: []byte("x")}
	dup := cache.Op{}
	getBatch.share(&dup, &sent)
	if string(dup.Val) != "x" || &dup.Val[0] == &sent.Val[0] {
		t.Error("get duplicate does not get its own copy of the value")
	}
	dup = cache.Op{}
	setNXBatch.share(&dup, &sent)
	if dup.Created {
		t.Error("a SetNX duplicate reports Created")
	}
}

func TestOptions(t *testing.T) {
	if _, err := (Options{Namespace: "ns"}).withDefaults(); err == nil {
		t.Error("no hosts accepted")
	}
	if _, err := (Options{Hosts: []string{"h"}}).withDefaults(); err == nil {
		t.Error("no namespace accepted")
	}
	o, err := Options{Hosts: []string{"h:3000"}, Namespace: "ns"}.withDefaults()
	if err != nil || o.PoolSize != DefaultPoolSize() || o.DialTimeout != cache.DefaultDialTimeout || o.OpTimeout != cache.DefaultOpTimeout {
		t.Fatalf("defaults: %+v, %v", o, err)
	}
	hosts, err := Options{Hosts: []string{"a:3100", "b", "[::1]:3200", "10.0.0.1"}}.hosts()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range hosts {
		got = append(got, fmt.Sprintf("%s/%d", h.Name, h.Port))
	}
	if want := []string{"a/3100", "b/3000", "::1/3200", "10.0.0.1/3000"}; !slices.Equal(got, want) {
		t.Errorf("hosts = %v, want %v", got, want)
	}
	if _, err := (Options{Hosts: []string{"a:x"}}).hosts(); err == nil {
		t.Error("bad port accepted")
	}
	cfg := optionsFromConfig(cache.Config{AeroHosts: []string{"a:1"}, AeroNamespace: "n", AeroSet: "s", DialTimeout: 1, OpTimeout: 2})
	if !slices.Equal(cfg.Hosts, []string{"a:1"}) || cfg.Namespace != "n" || cfg.Set != "s" || cfg.DialTimeout != 1 || cfg.OpTimeout != 2 {
		t.Errorf("optionsFromConfig = %+v", cfg)
	}
}

func TestConnectBudget(t *testing.T) {
	for _, tc := range []struct{ dial, want time.Duration }{
		{200 * time.Millisecond, 2 * time.Second},
		{50 * time.Millisecond, 500 * time.Millisecond},
		{time.Second, 2 * time.Second},
		{5 * time.Second, 5 * time.Second}, // never less than one dial timeout
	} {
		if got := ConnectBudget(tc.dial); got != tc.want {
			t.Errorf("ConnectBudget(%v) = %v, want %v", tc.dial, got, tc.want)
		}
	}
}

func TestRegistered(t *testing.T) {
	if !slices.Contains(cache.Kinds(), cache.BackendAerospike) {
		t.Fatalf("kind %q not registered: %v", cache.BackendAerospike, cache.Kinds())
	}
}
