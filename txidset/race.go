//go:build race

package txidset

// raceEnabled: the race detector is on, so tier 1 stays on the Go heap
// where the detector watches it (see local_arena.go).
const raceEnabled = true
