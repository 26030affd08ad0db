package train

import (
	"fmt"

	"github.com/splitinfer/splitinfer/nn"
)

// trainable lists the ops FromGraph turns into layers (shape computations
// aside, which it skips).
var trainable = map[string]bool{
	"Conv": true, "Gemm": true, "MatMul": true, "Relu": true, "MaxPool": true, "AveragePool": true,
	"GlobalAveragePool": true, "Add": true, "Flatten": true, "Reshape": true, "Identity": true, "Dropout": true, "Clip": true,
	"BatchNormalization": true,
}

// depthwise reports whether Conv n has one filter per input channel.
func depthwise(g *nn.Graph, n *nn.Node) bool {
	w := g.Consts[n.Input(1)]
	return w != nil && len(w.Shape) == 4 && w.Shape[1] == 1 && int64(w.Shape[0]) == n.AttrInt("group", 1)
}

// Unsupported lists every node of g the trainer cannot handle yet, each
// with why (FromGraph stops at the first): grouped (not depthwise)
// convolutions, dilations, auto_pad, ceil_mode, fused activations other
// than Relu, BatchNormalization in training mode, and ops it has no
// layer for.
func Unsupported(g *nn.Graph) []string {
	var out []string
	shapeVal := map[string]bool{}
	for _, n := range g.Nodes {
		if n.Op == "Shape" || shapeOps[n.Op] {
			only := true
			for _, in := range n.Inputs {
				if in != "" && !shapeVal[in] && g.Consts[in] == nil && n.Op != "Shape" {
					only = false
				}
			}
			if only {
				for _, o := range n.Outputs {
					shapeVal[o] = true
				}
				continue
			}
		}
		why := ""
		switch {
		case n.Op == "BatchNormalization" && (n.AttrInt("training_mode", 0) != 0 || len(n.Outputs) > 1 && n.Outputs[1] != ""):
			why = "BatchNormalization in training mode"
		case !trainable[n.Op]:
			why = "no training layer for this op"
		case n.Op == "Conv" && n.AttrInt("group", 1) != 1 && !depthwise(g, n):
			why = fmt.Sprintf("grouped convolution (group %d; depthwise ones train)", n.AttrInt("group", 1))
		case n.AttrString("activation", "") == "Clip" && n.AttrFloat("activation_min", -1) != 0,
			n.AttrString("activation", "") != "" && n.AttrString("activation", "") != "Relu" && n.AttrString("activation", "") != "Clip":
			why = "fused activation " + n.AttrString("activation", "") + " (Relu and ReLU6 train)"
		case n.AttrString("auto_pad", "NOTSET") != "NOTSET" && n.AttrString("auto_pad", "NOTSET") != "":
			why = "auto_pad " + n.AttrString("auto_pad", "")
		case n.AttrInt("ceil_mode", 0) != 0:
			why = "ceil_mode"
		default:
			for _, d := range n.AttrInts("dilations", nil) {
				if d != 1 {
					why = "dilation"
				}
			}
			if len(n.AttrInts("strides", []int{1, 1})) != 2 && (n.Op == "Conv" || n.Op == "MaxPool" || n.Op == "AveragePool") {
				why = "not 2-D"
			}
		}
		if why != "" {
			out = append(out, fmt.Sprintf("node %s (%s): %s", n.Name, n.Op, why))
		}
	}
	return out
}
