package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/splitinfer/splitinfer/internal/buildinfo"
)

func init() {
	register(&command{name: "version", summary: "print the module version, VCS revision and Go version", run: runVersion})
	register(&command{name: "health", summary: "check a worker's /readyz (or /healthz) on its --metrics-addr: exit 0 when it answers 200", run: runHealth})
}

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
	rev := bi.Revision
	if rev == "" {
		rev = "unknown (built without VCS stamping)"
	} else if bi.Modified {
		rev += " (modified)"
	}
	module := bi.Module
	if module == "" {
		module = "github.com/splitinfer/splitinfer"
	}
	fmt.Fprintf(stdout, "splitinfer %s\nmodule:   %s\nrevision: %s\ngo:       %s\n", bi.Version, module, rev, bi.GoVersion)
	return nil
}

// runHealth is the probe for images without a shell (distroless): GET
// http://ADDR/readyz, or /healthz with --live.
func runHealth(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("health", stderr)
	live := fs.Bool("live", false, "check /healthz (the process serves) instead of /readyz (the worker is ready)")
	timeout := fs.Duration("timeout", 3*time.Second, "bound of the check")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: splitinfer health [--live] [--timeout D] ADDR   (ADDR: a worker's --metrics-addr, host:port)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	addr := fs.Arg(0)
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	path := "/readyz"
	if *live {
		path = "/healthz"
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(addr, "/")+path, nil)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	msg := strings.TrimSpace(string(body))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s: %s", path, resp.Status, msg)
	}
	fmt.Fprintln(stdout, msg)
	return nil
}
