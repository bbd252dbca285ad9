package helperapi

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// A pipe of the helper's name made by an ordinary user (while the service
// is stopped) must not get the agent's requests: DialPipe refuses a pipe
// that SYSTEM or Administrators do not own. Here the pipe is owned by the
// test's own user, which the test may set whoever it runs as.
func TestDialPipeRefusesForeignOwner(t *testing.T) {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	if u.User.Sid.IsWellKnown(windows.WinLocalSystemSid) {
		t.Skip("runs as SYSTEM, which owns trusted pipes")
	}
	path := fmt.Sprintf(`\\.\pipe\dienstweg-squat-test-%d-%d`, os.Getpid(), time.Now().UnixNano())
	sddl := "O:" + u.User.Sid.String() + "D:P(A;;GA;;;" + u.User.Sid.String() + ")"
	ln, err := winio.ListenPipe(path, &winio.PipeConfig{SecurityDescriptor: sddl})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := DialPipe(ctx, path)
	if err == nil {
		c.Close()
		t.Fatal("DialPipe accepted a pipe owned by an ordinary user")
	}
	if !strings.Contains(err.Error(), "not the Dienstweg helper") {
		t.Errorf("err = %v", err)
	}
}
