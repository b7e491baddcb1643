package store

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// processOwner identifies this process for pending imports: host:pid.
func processOwner() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s:%d", host, os.Getpid())
}

// ownerDead reports whether an owner written by processOwner is a process
// on this host that no longer exists.
func ownerDead(owner string) bool {
	i := strings.LastIndexByte(owner, ':')
	if i < 0 {
		return false
	}
	host, _ := os.Hostname()
	if owner[:i] != host {
		return false
	}
	pid, err := strconv.Atoi(owner[i+1:])
	if err != nil || pid == os.Getpid() {
		return false
	}
	return !processAlive(pid)
}
