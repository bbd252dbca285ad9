package session

// Windows power broadcast types (WM_POWERBROADCAST's wParam, also the
// Type of a PowerRegisterSuspendResumeNotification callback).
const (
	pbtAPMSuspend         = 0x4
	pbtAPMResumeSuspend   = 0x7
	pbtAPMResumeAutomatic = 0x12
)

// resumedBy reports whether a power broadcast means the end of a sleep.
// PBT_APMRESUMEAUTOMATIC comes after every wake, whether or not a person
// is at the computer; PBT_APMRESUMESUSPEND follows only when one is, and
// would be a second signal for the same wake.
func resumedBy(pbt uint32) bool { return pbt == pbtAPMResumeAutomatic }
