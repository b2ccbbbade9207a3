package redis

import (
	"context"

	goredis "github.com/redis/go-redis/v9"

	"github.com/mcdedup/mcdedup/cache"
)

// Batches are one go-redis pipeline per call under one operation deadline.
// On a single server the pipeline is one write and one read on one
// connection. On a cluster, go-redis maps the commands by slot to their
// masters and runs one pipeline per master concurrently; a master that fails
// fails only its own commands, whose Op.Err is set, while the other Ops get
// their results. Commands are marked no-retry (see noRetry), so a broken
// connection fails its commands instead of re-sending them; only MOVED/ASK
// redirections are followed.

// SetNXBatch implements cache.Batcher: SET key val NX [PX ms] for every op.
func (b *Backend) SetNXBatch(ctx context.Context, ops []cache.Op) error {
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
	cmds := make([]*goredis.StatusCmd, len(ops))
	return b.batch(ctx, "set batch", ops, func(i int, op *cache.Op) goredis.Cmder {
		cmds[i] = setCmd(ctx, op.Key, op.Val, op.TTL)
		return cmds[i]
	}, func(i int, op *cache.Op) error {
		return cmds[i].Err()
	})
}

// GetBatch implements cache.Batcher: GET for every op; a miss sets Op.Val to
// nil with no error.
func (b *Backend) GetBatch(ctx context.Context, ops []cache.Op) error {
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

// batch runs one pipeline holding the command mk builds for each op, then
// lets done fill each op's results from its command, and sets Op.Err. It
// returns an error only when every op failed (the batch as a whole failed);
// per-op failures are reported in Op.Err alone.
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

	failed := 0
	var first error
	for i := range ops {
		op := &ops[i]
		op.Err = b.wrap(what, done(i, op))
		if op.Err != nil {
			failed++
			if first == nil {
				first = op.Err
			}
		}
	}
	if failed == len(ops) {
		return first
	}
	return nil
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
