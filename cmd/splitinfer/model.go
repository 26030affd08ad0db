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

// parseModelArg parses flags that may come before or after the MODEL
// argument ("inspect model.onnx --json"), which stands for --model. A flag
// error (already printed by the flag set) becomes errUsage.
func parseModelArg(fs *flag.FlagSet, args []string, model *string) error {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if args = fs.Args(); len(args) == 0 {
			break
		}
		pos, args = append(pos, args[0]), args[1:]
	}
	if len(pos) > 1 || (len(pos) == 1 && *model != "") {
		fs.Usage()
		return errUsage
	}
	if len(pos) == 1 {
		*model = pos[0]
	}
	return nil
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
