package aerospike

import (
	"bytes"
	"context"
	"fmt"

	as "github.com/aerospike/aerospike-client-go/v8"
	"github.com/aerospike/aerospike-client-go/v8/types"

	"github.com/mcdedup/mcdedup/cache"
)

// Batches are one BatchOperate call per batch under one deadline: the client
// groups the records by node and sends one request per node, all nodes at
// once, with no retries. Every record gets its own result code, so a node
// that fails fails only its own keys.
//
// Duplicate keys are sent once. The server may execute the records of one
// batch in parallel, so two writes of one key in one batch would race;
// instead each duplicate gets the outcome it would have had in order: for
// SetNXBatch the first occurrence is sent and the later ones report "exists"
// (or share its error), for SetBatch the last occurrence is sent and the
// earlier ones share its result, for GetBatch all share one read.

// batchKind describes one batch operation.
type batchKind struct {
	what string
	// first sends the first occurrence of a duplicated key, else the last.
	first bool
	// record builds the batch record of op.
	record func(op *cache.Op, k *as.Key) as.BatchRecordIfc
	// result fills op from its record; batchErr is the batch's own error.
	result func(op *cache.Op, br *as.BatchRecord, batchErr error) error
	// share gives a duplicate the outcome of the op that was sent.
	share func(dup, sent *cache.Op)
}

var setNXBatch = batchKind{
	what:  "setnx batch",
	first: true,
	record: func(op *cache.Op, k *as.Key) as.BatchRecordIfc {
		return as.NewBatchWrite(batchWritePolicy(op.TTL, as.CREATE_ONLY), k, as.PutOp(as.NewBin(binName, valBytes(op.Val))))
	},
	result: func(op *cache.Op, br *as.BatchRecord, batchErr error) error {
		switch br.ResultCode {
		case types.OK:
			op.Created = true
			return nil
		case types.KEY_EXISTS_ERROR:
			return nil
		}
		return recordError(br, batchErr)
	},
	share: func(dup, sent *cache.Op) { dup.Err = sent.Err },
}

var setBatch = batchKind{
	what:  "set batch",
	first: false,
	record: func(op *cache.Op, k *as.Key) as.BatchRecordIfc {
		return as.NewBatchWrite(batchWritePolicy(op.TTL, as.REPLACE), k, as.PutOp(as.NewBin(binName, valBytes(op.Val))))
	},
	result: func(op *cache.Op, br *as.BatchRecord, batchErr error) error {
		if br.ResultCode == types.OK {
			return nil
		}
		return recordError(br, batchErr)
	},
	share: func(dup, sent *cache.Op) { dup.Err = sent.Err },
}

var getBatch = batchKind{
	what:  "get batch",
	first: true,
	record: func(op *cache.Op, k *as.Key) as.BatchRecordIfc {
		return as.NewBatchRead(nil, k, []string{binName})
	},
	result: func(op *cache.Op, br *as.BatchRecord, batchErr error) error {
		switch br.ResultCode {
		case types.OK:
			v, err := binValue(br.Record)
			op.Val = v
			return err
		case types.KEY_NOT_FOUND_ERROR:
			return nil
		}
		return recordError(br, batchErr)
	},
	share: func(dup, sent *cache.Op) {
		dup.Err = sent.Err
		if sent.Val != nil {
			dup.Val = bytes.Clone(sent.Val)
		}
	},
}

// SetNXBatch implements cache.Batcher with CREATE_ONLY batch writes.
func (b *Backend) SetNXBatch(ctx context.Context, ops []cache.Op) error {
	return b.batch(ctx, setNXBatch, ops)
}

// SetBatch implements cache.Batcher with REPLACE batch writes.
func (b *Backend) SetBatch(ctx context.Context, ops []cache.Op) error {
	return b.batch(ctx, setBatch, ops)
}

// GetBatch implements cache.Batcher with batch reads; KEY_NOT_FOUND is a
// miss (Op.Val nil, no error).
func (b *Backend) GetBatch(ctx context.Context, ops []cache.Op) error {
	for i := range ops {
		ops[i].Val = nil // no stale value survives a failure
	}
	return b.batch(ctx, getBatch, ops)
}

// batch runs one BatchOperate holding one record per distinct key, fills
// every op's results and Err, and returns an error only when every op
// failed.
func (b *Backend) batch(ctx context.Context, kind batchKind, ops []cache.Op) error {
	if len(ops) == 0 {
		return nil
	}
	for i := range ops {
		ops[i].Created, ops[i].Err = false, nil
	}
	d, err := b.begin(ctx)
	if err != nil {
		err = b.wrap(kind.what, err)
		for i := range ops {
			ops[i].Err = err
		}
		return err
	}

	sent := sentIndex(ops, kind.first)
	records := make([]as.BatchRecordIfc, 0, len(ops))
	recOf := make([]int, len(ops)) // op index -> record index, -1 if none
	for i := range ops {
		recOf[i] = -1
		if sent[i] != i {
			continue
		}
		k, err := b.key(ops[i].Key)
		if err != nil {
			ops[i].Err = b.wrap(kind.what, err)
			continue
		}
		recOf[i] = len(records)
		records = append(records, kind.record(&ops[i], k))
	}
	var batchErr error
	if len(records) > 0 {
		batchErr = asError(b.client.BatchOperate(batchPolicy(d), records))
	}
	for i := range ops {
		if r := recOf[i]; r >= 0 {
			ops[i].Err = b.wrap(kind.what, kind.result(&ops[i], records[r].BatchRec(), batchErr))
		}
	}
	for i := range ops {
		if j := sent[i]; j != i {
			kind.share(&ops[i], &ops[j])
		}
	}
	for i := range ops {
		if ops[i].Err == nil {
			return nil
		}
	}
	return ops[0].Err
}

// sentIndex maps each op to the op that carries its key to the server: the
// first occurrence of the key, or the last when first is false.
func sentIndex(ops []cache.Op, first bool) []int {
	sent := make([]int, len(ops))
	carrier := make(map[string]int, len(ops))
	for i := range ops {
		if _, dup := carrier[string(ops[i].Key)]; !dup || !first {
			carrier[string(ops[i].Key)] = i
		}
	}
	for i := range ops {
		sent[i] = carrier[string(ops[i].Key)]
	}
	return sent
}

// recordError is the error of a record that did not succeed: its own, or
// the batch's when the record got no response at all.
func recordError(br *as.BatchRecord, batchErr error) error {
	if br.Err != nil {
		return br.Err
	}
	if br.ResultCode == types.NO_RESPONSE && batchErr != nil {
		return batchErr
	}
	return fmt.Errorf("result code %v", br.ResultCode)
}
