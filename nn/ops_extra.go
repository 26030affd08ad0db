package nn

import "math"

// Operators newer exports put around convolutions: Gelu (opset 20),
// LayerNormalization (17), DepthToSpace/SpaceToDepth (PyTorch's
// pixel_shuffle from opset 11).

func init() {
	Register("Gelu", func(bc *BuildContext) (Kernel, error) {
		approx := bc.Node.AttrString("approximate", "none")
		switch approx {
		case "none":
			return &mathKernel{op: "Gelu", f: func(x float32) float32 {
				v := float64(x)
				return float32(0.5 * v * (1 + math.Erf(v/math.Sqrt2)))
			}}, nil
		case "tanh":
			return &mathKernel{op: "Gelu", f: func(x float32) float32 {
				v := float64(x)
				return float32(0.5 * v * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(v+0.044715*v*v*v))))
			}}, nil
		}
		return nil, unsupportedErrf("Gelu approximate %q", approx)
	})
	Register("LayerNormalization", func(bc *BuildContext) (Kernel, error) {
		for _, o := range bc.Node.Outputs[min(1, len(bc.Node.Outputs)):] {
			if o != "" {
				return nil, unsupportedErrf("LayerNormalization Mean/InvStdDev outputs (training)")
			}
		}
		return &layerNormKernel{axis: int(bc.Node.AttrInt("axis", -1)), eps: float64(attrFloatAny(bc.Node, "epsilon", 1e-5))}, nil
	})
	Register("DepthToSpace", func(bc *BuildContext) (Kernel, error) {
		return buildSpaceDepth(bc, true)
	})
	Register("SpaceToDepth", func(bc *BuildContext) (Kernel, error) {
		return buildSpaceDepth(bc, false)
	})
}

// layerNormKernel normalizes over the dimensions from axis on, then
// applies scale and optional bias (broadcast over those dimensions).
type layerNormKernel struct {
	axis int
	eps  float64
}

func (k *layerNormKernel) OutputTypes(in []Type) ([]Type, error) {
	if err := needInputs("LayerNormalization", in, 2); err != nil {
		return nil, err
	}
	if err := needF32("LayerNormalization", in, 0); err != nil {
		return nil, err
	}
	ax, err := normAxis("LayerNormalization", k.axis, len(in[0].Shape), false)
	if err != nil {
		return nil, err
	}
	inner := NumElements(in[0].Shape[ax:])
	for i := 1; i < 3; i++ {
		if present(in, i) && (in[i].DType != Float32 || NumElements(in[i].Shape) != inner) {
			return nil, shapeErrf("LayerNormalization input %d is %v for normalized shape %v", i, in[i], in[0].Shape[ax:])
		}
	}
	return []Type{in[0]}, nil
}

// MACs counts three passes per element.
func (k *layerNormKernel) MACs(in, out []Type) int64 { return 3 * elemCount(out) }

func (k *layerNormKernel) Run(rc *RunContext, in, out []*Tensor) error {
	s := in[0].Shape
	ax, err := normAxis("LayerNormalization", k.axis, len(s), false)
	if err != nil {
		return err
	}
	inner := NumElements(s[ax:])
	rows := NumElements(s[:ax])
	x, y, sc := in[0].F32, out[0].F32, in[1].F32
	var b []float32
	if presentT(in, 2) {
		b = in[2].F32
	}
	for r := 0; r < rows; r++ {
		xs, ys := x[r*inner:(r+1)*inner], y[r*inner:(r+1)*inner]
		mean, std := meanStd(xs, k.eps)
		inv := 1 / std
		for i, v := range xs {
			o := (float64(v) - mean) * inv * float64(sc[i])
			if b != nil {
				o += float64(b[i])
			}
			ys[i] = float32(o)
		}
	}
	return nil
}

// buildSpaceDepth is DepthToSpace (modes DCR and CRD) and SpaceToDepth on
// N, C, H, W: gathers whose index map depends only on the shapes.
func buildSpaceDepth(bc *BuildContext, toSpace bool) (Kernel, error) {
	op := bc.Node.Op
	bs := int(bc.Node.AttrInt("blocksize", 0))
	if bs < 1 {
		return nil, shapeErrf("%s blocksize %d", op, bs)
	}
	crd := bc.Node.AttrString("mode", "DCR") == "CRD"
	return &indexMapKernel{op: op,
		shape: func(in []Type) ([]int, error) {
			x := in[0].Shape
			if len(x) != 4 || x[1] < 0 || x[2] < 0 || x[3] < 0 {
				return nil, shapeErrf("%s input %v, want N, C, H, W", op, x)
			}
			if toSpace {
				if x[1]%(bs*bs) != 0 {
					return nil, shapeErrf("%s of %d channels by blocksize %d", op, x[1], bs)
				}
				return []int{x[0], x[1] / (bs * bs), x[2] * bs, x[3] * bs}, nil
			}
			if x[2]%bs != 0 || x[3]%bs != 0 {
				return nil, shapeErrf("%s of %v by blocksize %d", op, x, bs)
			}
			return []int{x[0], x[1] * bs * bs, x[2] / bs, x[3] / bs}, nil
		},
		index: func(x, y []int, idx []int32) {
			C, H, W := x[1], x[2], x[3]
			o := 0
			for n := 0; n < y[0]; n++ {
				for c := 0; c < y[1]; c++ {
					for h := 0; h < y[2]; h++ {
						for w := 0; w < y[3]; w++ {
							var ic, ih, iw int
							if toSpace {
								bh, bw := h%bs, w%bs
								ih, iw = h/bs, w/bs
								if crd {
									ic = c*bs*bs + bh*bs + bw
								} else {
									ic = (bh*bs+bw)*y[1] + c
								}
							} else {
								// SpaceToDepth: output channel (bh*bs + bw)*C + c.
								blk, ci := c/C, c%C
								bh, bw := blk/bs, blk%bs
								ic, ih, iw = ci, h*bs+bh, w*bs+bw
							}
							idx[o] = int32(((n*C+ic)*H+ih)*W + iw)
							o++
						}
					}
				}
			}
		}}, nil
}
