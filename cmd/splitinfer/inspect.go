package main

import (
	"context"
	"encoding/json"
	"io"

	"github.com/splitinfer/splitinfer/nn/inspect"
)

func runInspect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("inspect", stderr)
	asJSON := fs.Bool("json", false, "print one JSON object instead of a table")
	model := fs.String("model", "", "model file or built-in model name (or give it as the argument; default: the built-in default model)")
	setUsage(fs, stderr, "usage: splitinfer inspect [MODEL] [--json]")
	if err := parseModelArg(fs, args, model); err != nil {
		return err
	}
	g, name, err := loadModel(*model)
	if err != nil {
		return err
	}
	rep, err := inspect.Graph(g, name)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return rep.WriteTable(stdout)
}
