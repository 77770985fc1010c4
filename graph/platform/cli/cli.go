// Package cli is what the bookstore's commands share around their own
// work: running it as the process (signals, exit status) and a flag set
// that prints their usage.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// RunFunc is a command without the process: its arguments (without the
// program's name), environment and output are passed in, so that tests can
// call it. It returns when its work is done or ctx is cancelled.
type RunFunc func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error

// Main runs run as the process: with its arguments, environment and
// output, until SIGINT or SIGTERM cancels its context. When run fails it
// prints the error after the command's name, unless the error is one of
// quiet (one the command has explained already, as flag.ErrHelp), and
// exits with status 1.
func Main(name string, run RunFunc, quiet ...error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err == nil {
		return
	}
	explained := false
	for _, q := range quiet {
		explained = explained || errors.Is(err, q)
	}
	if !explained {
		fmt.Fprintln(os.Stderr, name+":", err)
	}
	os.Exit(1)
}

// NewFlagSet returns a flag set named name that reports its errors, and
// -help, to stderr and returns them from Parse (flag.ContinueOnError).
// Its usage is usage, a line or a paragraph, then the flags.
func NewFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, usage)
		fs.PrintDefaults()
	}
	return fs
}
