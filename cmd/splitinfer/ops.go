package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/splitinfer/splitinfer/internal/buildinfo"
	"github.com/splitinfer/splitinfer/trace"
)

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: splitinfer version [--json]")
		return errUsage
	}
	bi := buildinfo.Read()
	if *asJSON {
		return json.NewEncoder(stdout).Encode(bi)
	}
	bi.WriteText(stdout)
	return nil
}

// runHealth is the probe for images without a shell (distroless): GET
// http://ADDR/readyz, or /healthz with --live.
func runHealth(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("health", stderr)
	live := fs.Bool("live", false, "check /healthz (the process serves) instead of /readyz (the worker is ready)")
	timeout := fs.Duration("timeout", 3*time.Second, "bound of the check")
	setUsage(fs, stderr, "usage: splitinfer health [--live] [--timeout D] ADDR   (ADDR: a worker's --metrics-addr, host:port)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	msg, err := trace.Probe(ctx, fs.Arg(0), *live)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, msg)
	return nil
}
