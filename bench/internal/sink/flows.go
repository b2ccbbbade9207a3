package sink

// Window is how many SeqNums below a flow's highest the sink remembers, to
// tell a late frame that fills a hole (a reorder) from a repeated
// (HashKey, SeqNum) (a sequence duplicate).
const Window = 1024

// MaxJump is the largest forward SeqNum jump counted as a gap; a larger
// one re-baselines the flow (counted in FlowResets), so one wild SeqNum
// cannot inflate the loss count.
const MaxJump = 1 << 20

// flowState tracks one flow (HashKey): its highest SeqNum and which of the
// Window SeqNums up to it were seen (a ring bitmap indexed by seq mod
// Window).
type flowState struct {
	high uint64
	seen [Window / 64]uint64
}

func (f *flowState) has(seq uint64) bool {
	i := seq % Window
	return f.seen[i/64]&(1<<(i%64)) != 0
}

func (f *flowState) set(seq uint64) {
	i := seq % Window
	f.seen[i/64] |= 1 << (i % 64)
}

func (f *flowState) clear(seq uint64) {
	i := seq % Window
	f.seen[i/64] &^= 1 << (i % 64)
}

// SeqStats are the per-flow sequence counts of a sink.
type SeqStats struct {
	// Flows is the number of flows tracked; UntrackedFlows counts frames of
	// flows beyond the cap.
	Flows          int    `json:"flows"`
	UntrackedFlows uint64 `json:"untracked_flows"`
	// Gaps counts forward jumps by more than one; GapMissing the SeqNums
	// they skipped. A flow first seen at SeqNum s ≤ Window is taken to
	// have started at 1, so its first s−1 SeqNums count as one gap.
	Gaps       uint64 `json:"gaps"`
	GapMissing uint64 `json:"gap_missing"`
	// Reorders counts frames below the flow's highest SeqNum not seen
	// before: late frames, each filling a hole.
	Reorders uint64 `json:"reorders"`
	// SeqDuplicates counts frames whose (HashKey, SeqNum) was seen before.
	SeqDuplicates uint64 `json:"seq_duplicates"`
	// TooOld counts frames more than Window below the highest SeqNum,
	// which can be neither classified nor tracked.
	TooOld uint64 `json:"too_old"`
	// FlowResets counts jumps beyond MaxJump (re-baselined, not gaps).
	FlowResets uint64 `json:"flow_resets"`
	// Lost is GapMissing − Reorders: holes never filled.
	Lost uint64 `json:"lost"`
}

// seqTracker classifies the SeqNums of stamped frames per flow, for at most
// maxFlows flows. Not safe for concurrent use.
type seqTracker struct {
	maxFlows int
	flows    map[uint64]*flowState
	st       SeqStats
}

func newSeqTracker(maxFlows int) *seqTracker {
	return &seqTracker{maxFlows: maxFlows, flows: make(map[uint64]*flowState)}
}

// observe accounts one stamped frame (seq ≥ 1).
func (t *seqTracker) observe(hashKey, seq uint64) {
	f := t.flows[hashKey]
	if f == nil {
		if len(t.flows) >= t.maxFlows {
			t.st.UntrackedFlows++
			return
		}
		f = &flowState{high: seq}
		t.flows[hashKey] = f
		f.set(seq)
		if seq > 1 && seq <= Window {
			t.st.Gaps++
			t.st.GapMissing += seq - 1
		}
		return
	}
	switch {
	case seq > f.high:
		jump := seq - f.high
		if jump > MaxJump {
			t.st.FlowResets++
			f.seen = [Window / 64]uint64{}
		} else {
			if jump > 1 {
				t.st.Gaps++
				t.st.GapMissing += jump - 1
			}
			if jump >= Window {
				f.seen = [Window / 64]uint64{}
			} else {
				for s := f.high + 1; s < seq; s++ {
					f.clear(s)
				}
			}
		}
		f.high = seq
		f.set(seq)
	case f.high-seq >= Window:
		t.st.TooOld++
	case f.has(seq):
		t.st.SeqDuplicates++
	default:
		f.set(seq)
		t.st.Reorders++
	}
}

// stats returns the counts so far.
func (t *seqTracker) stats() SeqStats {
	s := t.st
	s.Flows = len(t.flows)
	if s.GapMissing > s.Reorders {
		s.Lost = s.GapMissing - s.Reorders
	}
	return s
}
