package store

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// processToken tells this process from an earlier one that had the same
// pid on the same host (a container's PID 1 after a restart).
var processToken = func() string {
	var b [4]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}()

// processOwner identifies this process for pending imports and job
// leases: host:pid:token.
func processOwner() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s:%d:%s", host, os.Getpid(), processToken)
}

// ownerDead reports whether an owner written by processOwner (or the
// "host:pid" of earlier versions, possibly followed by more ":" fields)
// is a process on this host that no longer exists: its pid is gone, or it
// is this process's pid with another token (an earlier process that had
// the same pid). Owners on other hosts are never reported dead: their
// leases expire and their heartbeats go stale instead.
func ownerDead(owner string) bool {
	parts := strings.Split(owner, ":")
	if len(parts) < 2 {
		return false
	}
	host, _ := os.Hostname()
	if parts[0] != host {
		return false
	}
	pid, err := strconv.Atoi(parts[1])
	if err != nil || pid <= 0 {
		return false
	}
	if pid == os.Getpid() {
		return len(parts) >= 3 && parts[2] != processToken
	}
	return !processAlive(pid)
}
