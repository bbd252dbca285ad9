//go:build !linux

package agent

func trimResidentCode() int64 { return 0 }
