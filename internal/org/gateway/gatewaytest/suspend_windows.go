package gatewaytest

import (
	"fmt"
	"os"

	"golang.org/x/sys/windows"
)

// Windows has no SIGSTOP; ntdll's NtSuspendProcess stops every thread
// of the process, as Process Explorer's "Suspend" does.
var (
	ntdll            = windows.NewLazySystemDLL("ntdll.dll")
	ntSuspendProcess = ntdll.NewProc("NtSuspendProcess")
	ntResumeProcess  = ntdll.NewProc("NtResumeProcess")
)

func suspend(p *os.Process) error { return callOnProcess(ntSuspendProcess, p) }

func resume(p *os.Process) error { return callOnProcess(ntResumeProcess, p) }

func callOnProcess(proc *windows.LazyProc, p *os.Process) error {
	h, err := windows.OpenProcess(windows.PROCESS_SUSPEND_RESUME, false, uint32(p.Pid))
	if err != nil {
		return fmt.Errorf("opening process %d: %w", p.Pid, err)
	}
	defer windows.CloseHandle(h)
	if status, _, _ := proc.Call(uintptr(h)); status != 0 {
		return fmt.Errorf("%s on process %d: %w", proc.Name, p.Pid, windows.NTStatus(status))
	}
	return nil
}
