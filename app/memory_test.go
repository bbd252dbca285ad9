package main

import (
	"runtime/debug"
	"testing"
)

func TestTuneAgentMemory(t *testing.T) {
	tests := []struct {
		name string
		gogc string
		want int
	}{
		{name: "gogc_unset", gogc: "", want: agentGCPercent},
		{name: "gogc_set_by_whoever_runs_it", gogc: "80", want: 80},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("GOGC", tt.gogc)
			// The runtime read GOGC at start; stand in for that.
			start := 100
			if tt.gogc != "" {
				start = 80
			}
			orig := debug.SetGCPercent(start)
			t.Cleanup(func() { debug.SetGCPercent(orig) })

			tuneAgentMemory()

			if got := debug.SetGCPercent(start); got != tt.want {
				t.Fatalf("GC percent after tuneAgentMemory = %d, want %d", got, tt.want)
			}
		})
	}
}
