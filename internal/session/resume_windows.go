//go:build windows

package session

import (
	"context"
	"fmt"
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"
)

// powrprof's suspend/resume notification, which needs no window: the
// agent has no message loop of its own (the tray's belongs to systray).
// x/sys/windows does not wrap it.
var (
	powrprof                                     = windows.NewLazySystemDLL("powrprof.dll")
	procPowerRegisterSuspendResumeNotification   = powrprof.NewProc("PowerRegisterSuspendResumeNotification")
	procPowerUnregisterSuspendResumeNotification = powrprof.NewProc("PowerUnregisterSuspendResumeNotification")
)

// deviceNotifyCallback is DEVICE_NOTIFY_CALLBACK: Recipient points to a
// deviceNotifySubscribeParameters.
const deviceNotifyCallback = 2

// deviceNotifySubscribeParameters is DEVICE_NOTIFY_SUBSCRIBE_PARAMETERS.
type deviceNotifySubscribeParameters struct {
	callback uintptr
	context  uintptr
}

// Callbacks made by windows.NewCallback are never freed (the runtime
// holds a few thousand at most), so there is one for the process, and it
// hands each broadcast to the watchers registered now.
var (
	powerOnce     sync.Once
	powerCallback uintptr
	powerMu       sync.Mutex
	powerWatchers = map[*Controller]struct{}{}
	// powerParams must stay put while registered: Windows keeps its
	// address.
	powerParams = new(deviceNotifySubscribeParameters)
)

// onPower runs on a system thread for each broadcast.
func onPower(_ uintptr, typ uintptr, _ uintptr) uintptr {
	if !resumedBy(uint32(typ)) {
		return 0
	}
	powerMu.Lock()
	defer powerMu.Unlock()
	for c := range powerWatchers {
		c.log.Info("resume from sleep (Windows power event)")
		c.Signal(Resumed)
	}
	return 0
}

// WatchPowerResume hands the supervisor Resumed on each
// PBT_APMRESUMEAUTOMATIC, the Windows counterpart of WatchResume's logind
// signal, until ctx ends.
func (c *Controller) WatchPowerResume(ctx context.Context) error {
	powerOnce.Do(func() {
		powerCallback = windows.NewCallback(onPower)
		powerParams.callback = powerCallback
	})
	if err := procPowerRegisterSuspendResumeNotification.Find(); err != nil {
		return fmt.Errorf("watching power events: %w", err)
	}
	var handle uintptr
	r, _, _ := procPowerRegisterSuspendResumeNotification.Call(deviceNotifyCallback,
		uintptr(unsafe.Pointer(powerParams)), uintptr(unsafe.Pointer(&handle)))
	if r != 0 {
		return fmt.Errorf("watching power events: PowerRegisterSuspendResumeNotification: %w", windows.Errno(r))
	}
	powerMu.Lock()
	powerWatchers[c] = struct{}{}
	powerMu.Unlock()
	context.AfterFunc(ctx, func() {
		powerMu.Lock()
		delete(powerWatchers, c)
		powerMu.Unlock()
		procPowerUnregisterSuspendResumeNotification.Call(handle)
	})
	return nil
}
