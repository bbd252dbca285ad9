//go:build linux

package agent

import (
	"bufio"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// trimResidentCode asks the kernel to reclaim the clean, file-backed pages
// of our own executable (MADV_PAGEOUT). One binary carries every role, so
// the agent maps the windows' Fyne code and the demo portal too; the
// kernel faults whole page-cache folios in, and they would sit in the
// agent's memory all day. Pages the idle agent does use come back on the
// next touch. It returns the bytes advised.
func trimResidentCode() int64 {
	exe, err := os.Executable()
	if err != nil {
		return 0
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0
	}
	defer f.Close()
	var total int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// 00400000-00452000 r-xp 00000000 08:02 173521 /usr/bin/dienstweg
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[5] != exe || strings.Contains(fields[1], "w") {
			continue
		}
		bounds := strings.SplitN(fields[0], "-", 2)
		start, err1 := strconv.ParseUint(bounds[0], 16, 64)
		end, err2 := strconv.ParseUint(bounds[1], 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		// The raw call: the range is a mapping of ours from the kernel's
		// own list, not a Go slice.
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, uintptr(start), uintptr(end-start), unix.MADV_PAGEOUT); errno == 0 {
			total += int64(end - start)
		}
	}
	return total
}
