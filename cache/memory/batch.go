package memory

import (
	"context"

	"github.com/mcdedup/mcdedup/cache"
)

// SetNXBatch runs SetNX for every op in order, so a key repeated within the
// batch is created by its first op only.
func (b *Backend) SetNXBatch(ctx context.Context, ops []cache.Op) error {
	return b.batch(ctx, ops, false, func(op *cache.Op) { op.Created, op.Err = b.setNX(op.Key, op.Val, op.TTL) })
}

// SetBatch runs Set for every op in order.
func (b *Backend) SetBatch(ctx context.Context, ops []cache.Op) error {
	return b.batch(ctx, ops, false, func(op *cache.Op) { op.Err = b.set(op.Key, op.Val, op.TTL) })
}

// GetBatch runs Get for every op in order, setting Op.Val to a copy of the
// value (nil on a miss).
func (b *Backend) GetBatch(ctx context.Context, ops []cache.Op) error {
	return b.batch(ctx, ops, true, func(op *cache.Op) { op.Val, op.Err = b.get(op.Key) })
}

// batch applies do to each op in order. The batch fails as a whole (the
// error is returned and set on every op) when ctx is already done or the
// backend is closed. When ctx ends part way, the ops already done keep their
// results and every remaining op gets ctx.Err(); the call then returns nil,
// as the results are per op. A failed op has Created false and, for a read
// (isGet), Val nil.
func (b *Backend) batch(ctx context.Context, ops []cache.Op, isGet bool, do func(*cache.Op)) error {
	err := ctx.Err()
	if err == nil && b.closed.Load() {
		err = cache.ErrClosed
	}
	if err != nil {
		failOps(ops, err, isGet)
		return err
	}
	for i := range ops {
		if err := ctx.Err(); err != nil {
			failOps(ops[i:], err, isGet)
			return nil
		}
		do(&ops[i])
	}
	return nil
}

// failOps sets err on every op and clears its result fields; Val is a result
// only for a read, and the caller's input otherwise.
func failOps(ops []cache.Op, err error, isGet bool) {
	for i := range ops {
		ops[i].Created, ops[i].Err = false, err
		if isGet {
			ops[i].Val = nil
		}
	}
}
