package nn

import (
	"fmt"

	"github.com/splitinfer/splitinfer/nn/internal/blas"
)

// QLinearGemmInt8 is splitinfer's int8 fully connected layer (ONNX Gemm with
// transB=1, or MatMul by a constant).
//
// Inputs: x int8 [..., K]; w int8 constant [N, K] (out × in), symmetric per
// output row or per tensor; optional bias int32 constant [N] in units of
// x_scale·w_scale[n].
// Attributes: x_scale, x_zero_point, w_scale (1 or N floats), y_scale,
// y_zero_point, relu. Output: int8 [..., N] with Quant{y_scale, y_zero_point}.
// Arithmetic as QLinearConvInt8 (int8.go).

func init() { Register("QLinearGemmInt8", q8BuildGemm) }

// q8GemvRows: inputs of fewer rows run as dot products (blas.GemmS8 with
// the activations as A, below its packing threshold).
const q8GemvRows = 4

type q8Gemm struct {
	x, y   q8Params
	lo, hi int32
	n, k   int
	w      []int8
	corr   []int64
	mult   []q8Mult
	quant  *Quant
	packed *blas.PackedS8
}

func q8BuildGemm(bc *BuildContext) (Kernel, error) {
	n := bc.Node
	w := bc.InputConst(1)
	if w == nil || w.DType != Int8 || len(w.Shape) != 2 || w.Shape[0] < 1 || w.Shape[1] < 1 {
		return nil, fmt.Errorf("%w: QLinearGemmInt8 needs a constant int8 [N,K] weight", ErrGraph)
	}
	g := &q8Gemm{n: w.Shape[0], k: w.Shape[1], w: w.I8}
	var err error
	if g.x, g.y, err = q8XY(n); err != nil {
		return nil, err
	}
	g.lo, g.hi = q8Range(n, g.y)
	ws := q8AttrFloats(n, "w_scale")
	if len(ws) != 1 && len(ws) != g.n {
		return nil, fmt.Errorf("%w: %d weight scales for %d outputs", ErrQuant, len(ws), g.n)
	}
	var bias []int32
	if b := bc.InputConst(2); b != nil {
		if b.DType != Int32 || b.Len() != g.n {
			return nil, fmt.Errorf("%w: bias must be int32 [%d], got %v", ErrShape, g.n, b.Type())
		}
		bias = b.I32
	} else if n.Input(2) != "" {
		return nil, fmt.Errorf("%w: bias must be a constant", ErrGraph)
	}
	g.corr = make([]int64, g.n)
	g.mult = make([]q8Mult, g.n)
	for j := 0; j < g.n; j++ {
		var s int64
		for _, v := range g.w[j*g.k : (j+1)*g.k] {
			s += int64(v)
		}
		g.corr[j] = -int64(g.x.Zero) * s
		if bias != nil {
			g.corr[j] += int64(bias[j])
		}
		sc := ws[0]
		if len(ws) > 1 {
			sc = ws[j]
		}
		if g.mult[j], err = q8Multiplier(float64(g.x.Scale) * float64(sc) / float64(g.y.Scale)); err != nil {
			return nil, fmt.Errorf("output %d: %w", j, err)
		}
	}
	g.quant = g.y.quant()
	// The weights are the packed A operand (packed once here); the
	// activations are B, so the GEMM yields Cᵀ = W·xᵀ.
	g.packed = blas.PackS8(g.n, g.k, g.w, g.k)
	return g, nil
}

func (g *q8Gemm) OutputTypes(in []Type) ([]Type, error) {
	x := in[0]
	if x.DType != Int8 {
		return nil, fmt.Errorf("%w: QLinearGemmInt8 input %v", ErrDType, x.DType)
	}
	if len(x.Shape) < 1 || x.Shape[len(x.Shape)-1] != g.k {
		return nil, fmt.Errorf("%w: input %v for K=%d", ErrShape, x.Shape, g.k)
	}
	s := append(append([]int(nil), x.Shape[:len(x.Shape)-1]...), g.n)
	return []Type{{DType: Int8, Shape: s}}, nil
}

func (g *q8Gemm) Run(rc *RunContext, in, out []*Tensor) error {
	x, y := in[0], out[0]
	y.Quant = g.quant
	m := x.Len() / g.k
	acc := rc.ScratchI32(m * g.n)
	ws := rc.gemmWorkspaces(1)[0]
	yz := int64(g.y.Zero)
	if m < q8GemvRows {
		// A few rows: dot products of each row with the weight rows
		// (acc[i*n+j]); the packed GEMM would compute whole 16-column
		// tiles for them.
		blas.GemmS8WS(ws, m, g.n, g.k, x.I8, g.k, g.w, g.k, acc, g.n)
		for i, a := range acc {
			j := i % g.n
			y.I8[i] = q8Clamp(yz+g.mult[j].apply(int64(a)+g.corr[j]), g.lo, g.hi)
		}
		return nil
	}
	// acc[j*m+i] = Σ_p w[j,p]·x[i,p] ([N × M])
	blas.GemmS8PackedWS(ws, g.packed, m, x.I8, g.k, acc, m)
	for j := 0; j < g.n; j++ {
		row := acc[j*m : (j+1)*m]
		mu, corr := g.mult[j], g.corr[j]
		for i, a := range row {
			y.I8[i*g.n+j] = q8Clamp(yz+mu.apply(int64(a)+corr), g.lo, g.hi)
		}
	}
	return nil
}

// MACs counts M·N·K multiply-accumulates.
func (g *q8Gemm) MACs(in, out []Type) int64 {
	if len(out) == 0 {
		return 0
	}
	return int64(NumElements(out[0].Shape)) * int64(g.k)
}
