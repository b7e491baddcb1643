// Package datadir implements vulngate's rule for where its data lives: the
// --data-dir flag, else $VULNGATE_DATA_DIR, else a "vulngate" directory under
// the user's data directory ($XDG_DATA_HOME or ~/.local/share on Unix,
// ~/Library/Application Support on macOS, %LocalAppData% on Windows).
//
// It only resolves and creates the directory; what goes in it belongs to the
// store and the mirror.
package datadir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// EnvVar names the environment variable consulted when no flag is given.
const EnvVar = "VULNGATE_DATA_DIR"

// Resolve returns the data directory for the given flag value (may be "").
func Resolve(flag string) (string, error) {
	if flag != "" {
		return filepath.Abs(flag)
	}
	if env := os.Getenv(EnvVar); env != "" {
		return filepath.Abs(env)
	}
	base, err := userDataDir()
	if err != nil {
		return "", fmt.Errorf("no data directory: set --data-dir or %s (%v)", EnvVar, err)
	}
	return filepath.Join(base, "vulngate"), nil
}

// Ensure resolves the directory and creates it (mode 0700) if missing.
func Ensure(flag string) (string, error) {
	dir, err := Resolve(flag)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("data directory %s: %w", dir, err)
	}
	return dir, nil
}

func userDataDir() (string, error) {
	switch runtime.GOOS {
	case "windows":
		if d := os.Getenv("LocalAppData"); d != "" {
			return d, nil
		}
		return "", errors.New("%LocalAppData% is not set")
	case "darwin":
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(home, "Library", "Application Support"), nil
	default:
		if d := os.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
			return d, nil
		}
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(home, ".local", "share"), nil
	}
}
