package main

import (
	"errors"
	"flag"
	"fmt"

	"github.com/splitinfer/splitinfer/models"
	"github.com/splitinfer/splitinfer/nn"
)

// loadModel resolves a MODEL argument (models.Resolve).
func loadModel(spec string) (*nn.Graph, string, error) { return models.Resolve(spec) }

// The usages of --model, the model most commands take, and --json for
// commands that print one JSON object.
const (
	modelUsage = "model file or built-in model name (default: the built-in default model)"
	jsonUsage  = "print one JSON object"
)

// modelFlag registers --model.
func modelFlag(fs *flag.FlagSet) *string { return fs.String("model", "", modelUsage) }

// jsonFlag registers --json.
func jsonFlag(fs *flag.FlagSet) *bool { return fs.Bool("json", false, jsonUsage) }

// parseInterleaved parses flags that may come before or after positional
// arguments ("inspect model.onnx --json") and returns the positionals. A
// flag error (already printed by the flag set) becomes errUsage.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// parseFlags is fs.Parse with flag errors (already printed) as errUsage.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}
