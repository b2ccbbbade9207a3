package ratio

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// userHZ is the unit of the CPU times in /proc/PID/stat (USER_HZ, fixed at
// 100 in the Linux ABI whatever the kernel's HZ).
const userHZ = 100

// groupCPU returns the CPU time (user + system) used so far by the live
// processes of process group pgid: a pipeline and whatever wrappers (sh,
// env, taskset) it runs under, since every child starts its own group. A
// process that exits is no longer counted, so take both samples while the
// pipeline runs.
func groupCPU(pgid int) (time.Duration, error) {
	paths, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		return 0, err
	}
	var ticks uint64
	found := false
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // exited meanwhile
		}
		g, t, ok := parseStat(b)
		if ok && g == pgid {
			ticks += t
			found = true
		}
	}
	if !found {
		return 0, fmt.Errorf("no process in group %d", pgid)
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// parseStat reads the process group and utime+stime from a /proc/PID/stat
// line. The command name (field 2) may hold spaces and parentheses, so the
// fields are counted from the last ')'.
func parseStat(b []byte) (pgrp int, ticks uint64, ok bool) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := bytes.Fields(b[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, 0, false
	}
	g, err1 := strconv.Atoi(string(f[2]))               // field 5: pgrp
	u, err2 := strconv.ParseUint(string(f[11]), 10, 64) // field 14: utime
	s, err3 := strconv.ParseUint(string(f[12]), 10, 64) // field 15: stime
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, 0, false
	}
	return g, u + s, true
}
