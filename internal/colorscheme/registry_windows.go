package colorscheme

import (
	"context"
	"errors"
	"log/slog"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// The taskbar's theme, not the apps' (AppsUseLightTheme): the tray icon
// sits on the taskbar.
const (
	personalizeKey = `Software\Microsoft\Windows\CurrentVersion\Themes\Personalize`
	taskbarValue   = "SystemUsesLightTheme"
)

// pollEvery bounds how long a cancelled watch waits for its next look at
// ctx while no change comes.
const pollEvery = 1000 // milliseconds

func watch(ctx context.Context, log *slog.Logger, send func(Scheme)) {
	k, err := registry.OpenKey(registry.CURRENT_USER, personalizeKey, registry.QUERY_VALUE|registry.NOTIFY)
	if err != nil {
		log.Info("the taskbar's theme cannot be read", "err", err)
		send(NoPreference)
		return
	}
	defer k.Close()
	event, err := windows.CreateEvent(nil, 0, 0, nil)
	if err != nil {
		log.Warn("cannot follow the taskbar's theme", "err", err)
		send(readTaskbar(k, log))
		return
	}
	defer windows.CloseHandle(event)
	for {
		// Arm before reading, so no change between the two is lost.
		const filter = windows.REG_NOTIFY_CHANGE_LAST_SET | windows.REG_NOTIFY_THREAD_AGNOSTIC
		armErr := windows.RegNotifyChangeKeyValue(windows.Handle(k), false, filter, event, true)
		send(readTaskbar(k, log))
		if armErr != nil {
			log.Warn("cannot follow the taskbar's theme", "err", armErr)
			return
		}
		for {
			if ctx.Err() != nil {
				return
			}
			r, err := windows.WaitForSingleObject(event, pollEvery)
			if err != nil {
				log.Warn("waiting for a taskbar theme change", "err", err)
				return
			}
			if r == windows.WAIT_OBJECT_0 {
				break
			}
		}
	}
}

func readTaskbar(k registry.Key, log *slog.Logger) Scheme {
	v, _, err := k.GetIntegerValue(taskbarValue)
	if errors.Is(err, registry.ErrNotExist) {
		// Windows before 10 1903 has no light taskbar.
		return fromTaskbarValue(0, false)
	}
	if err != nil {
		log.Info("the taskbar's theme cannot be read", "err", err)
		return NoPreference
	}
	return fromTaskbarValue(v, true)
}
