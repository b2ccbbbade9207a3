package redis

import (
	"context"

	goredis "github.com/redis/go-redis/v9"

	"github.com/mcdedup/mcdedup/cache"
)

// Batches take the fast path (fastpath.go) when the Backend has one, else
// one go-redis pipeline per call under one operation deadline. On a single
// server the pipeline is one write and one read on one connection. On a
// cluster, go-redis maps the commands by slot to their masters and runs one
// pipeline per master concurrently; a master that fails fails only its own
// commands, whose Op.Err is set, while the other Ops get their results.
// Commands are marked no-retry (see noRetry), so a broken connection fails
// its commands instead of re-sending them; only MOVED/ASK redirections are
// followed. Both paths give every Op the same outcome. The fast path reads
// the masters' replies one after another under the batch's deadline; when
// a master stalls until the deadline (hung, not refusing), the masters read
// after it get a short grace (lateGrace) to deliver the replies they have
// already sent, so that only the hung master's Ops fail. Every failed Op
// has its Err set, so callers fail open.

// SetNXBatch implements cache.Batcher: SET key val NX [PX ms] for every op.
func (b *Backend) SetNXBatch(ctx context.Context, ops []cache.Op) error {
	if b.fast != nil {
		return b.fastBatch(ctx, "setnx batch", opSetNX, ops)
	}
	cmds := make([]*goredis.BoolCmd, len(ops))
	return b.batch(ctx, "setnx batch", ops, func(i int, op *cache.Op) goredis.Cmder {
		cmds[i] = setNXCmd(ctx, op.Key, op.Val, op.TTL)
		return cmds[i]
	}, func(i int, op *cache.Op) error {
		op.Created = false
		err := cmds[i].Err()
		if err == nil {
			op.Created = cmds[i].Val()
		}
		return err
	})
}

// SetBatch implements cache.Batcher: SET key val [PX ms] for every op.
func (b *Backend) SetBatch(ctx context.Context, ops []cache.Op) error {
	if b.fast != nil {
		return b.fastBatch(ctx, "set batch", opSet, ops)
	}
	cmds := make([]*goredis.StatusCmd, len(ops))
	return b.batch(ctx, "set batch", ops, func(i int, op *cache.Op) goredis.Cmder {
		cmds[i] = setCmd(ctx, op.Key, op.Val, op.TTL)
		return cmds[i]
	}, func(i int, op *cache.Op) error {
		return cmds[i].Err()
	})
}

// GetBatch implements cache.Batcher: GET for every op; a miss sets Op.Val to
// nil with no error. Each value found is a fresh slice of its own, which the
// caller owns (one allocation per hit, none per miss).
func (b *Backend) GetBatch(ctx context.Context, ops []cache.Op) error {
	if b.fast != nil {
		return b.fastBatch(ctx, "get batch", opGet, ops)
	}
	for i := range ops {
		ops[i].Val = nil // no stale value survives a failure
	}
	cmds := make([]*goredis.StringCmd, len(ops))
	return b.batch(ctx, "get batch", ops, func(i int, op *cache.Op) goredis.Cmder {
		cmds[i] = getCmd(ctx, op.Key)
		return cmds[i]
	}, func(i int, op *cache.Op) error {
		var err error
		op.Val, err = getResult(cmds[i])
		return err
	})
}

// fastBatch runs a batch of kind on the fast path under the batch deadline.
func (b *Backend) fastBatch(ctx context.Context, what string, kind opKind, ops []cache.Op) error {
	if len(ops) == 0 {
		return nil
	}
	for i := range ops {
		op := &ops[i]
		op.Created, op.Err = false, nil
		if kind == opGet {
			op.Val = nil // no stale value survives a failure
		}
	}
	if err := b.begin(ctx); err != nil {
		return b.failAll(what, ops, err)
	}
	b.fast.run(ctx, kind, ops, b.deadline(ctx))

	// Wrap each distinct error once: a failed connection shares its error
	// among all its ops.
	var raw, wrapped error
	for i := range ops {
		if err := ops[i].Err; err != nil {
			if err != raw {
				raw, wrapped = err, b.wrap(what, err)
			}
			ops[i].Err = wrapped
		}
	}
	return batchError(ops)
}

// batch runs one go-redis pipeline holding the command mk builds for each
// op, then lets done fill each op's results from its command, and sets
// Op.Err.
func (b *Backend) batch(ctx context.Context, what string, ops []cache.Op,
	mk func(i int, op *cache.Op) goredis.Cmder, done func(i int, op *cache.Op) error) error {
	if len(ops) == 0 {
		return nil
	}
	if err := b.begin(ctx); err != nil {
		return b.failAll(what, ops, err)
	}
	ctx, cancel := b.opContext(ctx)
	defer cancel()

	pipe := b.client.Pipeline()
	for i := range ops {
		_ = pipe.Process(ctx, noRetry{mk(i, &ops[i])})
	}
	_, _ = pipe.Exec(ctx) // errors land on each command

	for i := range ops {
		op := &ops[i]
		op.Err = b.wrap(what, done(i, op))
	}
	return batchError(ops)
}

// batchError returns the error of a batch whose every op failed (the batch
// as a whole failed): the first op's. Per-op failures are reported in
// Op.Err alone.
func batchError(ops []cache.Op) error {
	for i := range ops {
		if ops[i].Err == nil {
			return nil
		}
	}
	if len(ops) == 0 {
		return nil
	}
	return ops[0].Err
}

// failAll sets err on every op and returns it wrapped, for a batch that could
// not start.
func (b *Backend) failAll(what string, ops []cache.Op, err error) error {
	err = b.wrap(what, err)
	for i := range ops {
		ops[i].Err = err
		ops[i].Created = false
	}
	return err
}
