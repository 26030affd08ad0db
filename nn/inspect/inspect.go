// Package inspect describes a model for people: per node the op, output
// shapes, parameters (and how many are not zero), MACs and activation sizes.
package inspect

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/preprocess"
)

// Node is one node of a Report. Shapes are at batch 1.
type Node struct {
	Index   int      `json:"index"`
	Name    string   `json:"name"`
	Op      string   `json:"op"`
	Outputs []Tensor `json:"outputs"`
	Params  int64    `json:"params"`
	// Nonzero counts the parameters that are not zero (pruning leaves zeros).
	Nonzero int64 `json:"nonzero_params"`
	MACs    int64 `json:"macs"`
	// Activation bytes of the node's outputs at batch 1, as float32 and as int8.
	BytesF32  int64 `json:"bytes_f32"`
	BytesInt8 int64 `json:"bytes_int8"`
}

// Tensor is a value's name, element type and shape.
type Tensor struct {
	Name  string `json:"name"`
	DType string `json:"dtype"`
	Shape []int  `json:"shape"`
}

// Report describes a model: its inputs, outputs, declared preprocessing,
// and per node the op, output shapes, parameters, MACs and activation sizes.
type Report struct {
	Model          string   `json:"model"`
	Opset          int      `json:"opset"`
	Inputs         []Tensor `json:"inputs"`
	Outputs        []Tensor `json:"outputs"`
	Preprocess     string   `json:"preprocess,omitempty"` // the image preprocessing the model declares
	Labels         int      `json:"labels,omitempty"`     // how many class labels it carries
	Nodes          []Node   `json:"nodes"`
	TotalParams    int64    `json:"total_params"`
	TotalNonzero   int64    `json:"total_nonzero_params"`
	TotalMACs      int64    `json:"total_macs"`
	TotalBytesF32  int64    `json:"total_bytes_f32"`
	TotalBytesInt8 int64    `json:"total_bytes_int8"`
}

// Graph runs g once at batch 1 (zero inputs) to get every tensor's
// shape, and asks each kernel for its MACs.
func Graph(g *nn.Graph, name string) (*Report, error) {
	prog, err := nn.Compile(g)
	if err != nil {
		return nil, err
	}
	types, err := prog.ValueTypes()
	if err != nil {
		return nil, err
	}
	rep := &Report{Model: name, Opset: g.Opset, Preprocess: g.Meta[preprocess.MetaKey], Labels: len(preprocess.Labels(g.Meta[preprocess.LabelsMetaKey]))}
	for _, in := range g.Inputs {
		rep.Inputs = append(rep.Inputs, Tensor{Name: in.Name, DType: in.Type.DType.String(), Shape: types[in.Name].Shape})
	}
	for _, o := range g.Outputs {
		rep.Outputs = append(rep.Outputs, Tensor{Name: o.Name, DType: types[o.Name].DType.String(), Shape: types[o.Name].Shape})
	}
	for i, n := range g.Nodes {
		row := Node{Index: i, Name: n.Name, Op: n.Op}
		inT := make([]nn.Type, len(n.Inputs))
		for j, in := range n.Inputs {
			if in == "" {
				continue
			}
			inT[j] = types[in]
			if c := g.Consts[in]; c != nil && c.DType != nn.Int64 {
				row.Params += int64(c.Len())
				row.Nonzero += NonZero(c)
			}
		}
		outT := make([]nn.Type, len(n.Outputs))
		for j, o := range n.Outputs {
			if o == "" {
				continue
			}
			outT[j] = types[o]
			e := int64(nn.NumElements(outT[j].Shape))
			row.Outputs = append(row.Outputs, Tensor{Name: o, DType: outT[j].DType.String(), Shape: outT[j].Shape})
			row.BytesF32 += 4 * e
			row.BytesInt8 += e
		}
		row.MACs = nn.NodeMACs(prog.Kernel(i), inT, outT)
		rep.Nodes = append(rep.Nodes, row)
		rep.TotalParams += row.Params
		rep.TotalNonzero += row.Nonzero
		rep.TotalMACs += row.MACs
		rep.TotalBytesF32 += row.BytesF32
		rep.TotalBytesInt8 += row.BytesInt8
	}
	return rep, nil
}

// WriteTable writes r as the table `splitinfer inspect` prints.
func (r *Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "model %s (opset %d), shapes at batch 1\n", r.Model, r.Opset)
	for _, in := range r.Inputs {
		fmt.Fprintf(w, "input  %s %s%v\n", in.Name, in.DType, in.Shape)
	}
	for _, o := range r.Outputs {
		fmt.Fprintf(w, "output %s %s%v\n", o.Name, o.DType, o.Shape)
	}
	if r.Preprocess != "" {
		fmt.Fprintf(w, "preprocess %s (%d labels)\n", r.Preprocess, r.Labels)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "#\tnode\top\toutput shape\tparams\tnonzero\tMACs\tbytes f32\tbytes int8\t")
	for _, n := range r.Nodes {
		shape := ""
		for k, o := range n.Outputs {
			if k > 0 {
				shape += " "
			}
			shape += fmt.Sprint(o.Shape)
			if o.DType != "float32" {
				shape += " " + o.DType
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t\n", n.Index, n.Name, n.Op, shape, n.Params, n.Nonzero, n.MACs, n.BytesF32, n.BytesInt8)
	}
	fmt.Fprintf(tw, "\ttotal\t\t\t%d\t%d\t%d\t%d\t%d\t\n", r.TotalParams, r.TotalNonzero, r.TotalMACs, r.TotalBytesF32, r.TotalBytesInt8)
	return tw.Flush()
}

// NonZero counts the elements of t that are not zero.
func NonZero(t *nn.Tensor) int64 {
	var n int64
	switch t.DType {
	case nn.Float32:
		for _, v := range t.F32 {
			if v != 0 {
				n++
			}
		}
	default:
		b, size := t.Bytes(), t.DType.Size()
		for i := 0; i+size <= len(b); i += size {
			for _, x := range b[i : i+size] {
				if x != 0 {
					n++
					break
				}
			}
		}
	}
	return n
}
