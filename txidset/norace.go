//go:build !race

package txidset

// raceEnabled: the race detector is off (see race.go).
const raceEnabled = false
