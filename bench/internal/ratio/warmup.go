package ratio

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"time"

	"github.com/mcdedup/mcdedup/bench/internal/wire"
	"github.com/mcdedup/mcdedup/frame"
	"github.com/mcdedup/mcdedup/internal/fabric"
	"github.com/mcdedup/mcdedup/internal/udpio"
)

// warmUpEvery is the pause between warm-up frames.
const warmUpEvery = 25 * time.Millisecond

// warmUp proves the pipeline forwards: it sends a frame to the ingress
// every warmUpEvery until a tap on the shard groups receives one, or
// timeout passes. A UDP ingress has no handshake, and a ready line only says
// the socket is bound.
func warmUp(ctx context.Context, ingress netip.AddrPort, fab fabric.Options, timeout time.Duration) error {
	tap, err := fabric.OpenTap(fab)
	if err != nil {
		return fmt.Errorf("warm-up tap: %w", err)
	}
	defer tap.Close()
	tx, err := udpio.Listen("udp4", "127.0.0.1:0", udpio.Options{Peer: ingress})
	if err != nil {
		return fmt.Errorf("warm-up sender: %w", err)
	}
	defer tx.Close()
	buf := make([]byte, frame.HeaderLenStd+wire.MinPayload)
	wire.Init(buf)
	in := udpio.NewMessages(8, 2048)
	deadline := time.Now().Add(timeout)
	for ctx.Err() == nil && time.Now().Before(deadline) {
		var txid, subtree [32]byte
		for i := range txid {
			txid[i] = byte(rand.Uint32())
		}
		f := wire.Set(buf, &txid, &subtree, 0, 0, wire.MinPayload) // zero timestamp: no latency sample
		tx.WriteBatch([]udpio.Message{{Buf: f}})                   // refused until the ingress binds
		tap.SetReadDeadline(time.Now().Add(warmUpEvery))
		if n, err := tap.ReadBatch(in); err == nil && n > 0 {
			return nil
		} else if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("warm-up tap: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return fmt.Errorf("no frame came through the pipeline within %v", timeout)
}
