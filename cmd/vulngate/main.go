// Command vulngate mirrors vulnerability advisories, scans packages and
// SBOMs against them, and (as a server) gates package downloads.
//
// Run "vulngate help" for the commands. It only hands its arguments to
// internal/cli, turns the result into an exit code, and writes CPU and
// memory profiles or a trace where $VULNGATE_CPUPROFILE,
// $VULNGATE_MEMPROFILE or $VULNGATE_TRACE name files; everything else is
// in the internal packages.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/vulngate/vulngate/internal/cli"
)

func main() {
	stop := startProfiling()
	err := cli.Execute(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err == nil {
		return
	}
	var exit cli.ExitError
	if errors.As(err, &exit) {
		if exit.Message != "" {
			fmt.Fprintln(os.Stderr, "vulngate:", exit.Message)
		}
		os.Exit(exit.Code)
	}
	fmt.Fprintln(os.Stderr, "vulngate:", err)
	os.Exit(2)
}
