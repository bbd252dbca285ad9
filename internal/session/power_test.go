package session

import "testing"

// One wake is one signal: only PBT_APMRESUMEAUTOMATIC counts.
func TestResumedByPowerBroadcast(t *testing.T) {
	t.Parallel()
	for pbt, want := range map[uint32]bool{pbtAPMResumeAutomatic: true, pbtAPMResumeSuspend: false, pbtAPMSuspend: false, 0x8013: false} {
		if got := resumedBy(pbt); got != want {
			t.Errorf("resumedBy(%#x) = %v, want %v", pbt, got, want)
		}
	}
}
