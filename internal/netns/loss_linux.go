package netns

import (
	"context"
	"fmt"
	"time"
)

// lossTable is the nftables table AddLoss owns inside a namespace.
const lossTable = "mcdedup_loss"

// AddLoss drops the given percentage (0 to 100) of UDP datagrams delivered
// to the namespace (the inet input hook, so IPv4 and IPv6, unicast and
// multicast), chosen at random with nftables' numgen. It replaces the rate
// set by an earlier call; 0 removes the rule. It needs the nft command.
func (n *NS) AddLoss(percent int) error {
	if percent < 0 || percent > 100 {
		return fmt.Errorf("netns %s: loss %d%% is outside 0..100", n.name, percent)
	}
	// Creating the table first makes the delete safe when it does not exist;
	// nft applies the whole script atomically.
	script := fmt.Sprintf("table inet %[1]s\ndelete table inet %[1]s\n", lossTable)
	if percent > 0 {
		sample := fmt.Sprintf(" numgen random mod 100 < %d", percent)
		if percent == 100 {
			sample = "" // numgen values stop at 99
		}
		script += fmt.Sprintf(`table inet %s {
	chain input {
		type filter hook input priority filter; policy accept;
		meta l4proto udp%s counter drop
	}
}
`, lossTable, sample)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := n.execInput(ctx, []byte(script), "nft", "-f", "-")
	return err
}
