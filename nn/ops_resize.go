package nn

import "math"

// Resize (opset 11+ form; the importer maps Upsample and Resize-10 onto
// it): modes nearest, linear (separable multi-linear) and cubic, with every
// coordinate_transformation_mode but tf_crop_and_resize, and every
// nearest_mode. Scales or sizes must be constants.

func init() { Register("Resize", buildResize) }

type resizeKernel struct {
	scales    []float64 // per dimension, or nil
	sizes     []int     // per dimension, or nil
	axes      []int     // opset 18: the dimensions scales/sizes apply to
	mode      string
	coord     string
	nearest   string
	cubicA    float64
	excludeOu bool
	policy    string
}

func buildResize(bc *BuildContext) (Kernel, error) {
	n := bc.Node
	k := &resizeKernel{
		mode:      n.AttrString("mode", "nearest"),
		coord:     n.AttrString("coordinate_transformation_mode", "half_pixel"),
		nearest:   n.AttrString("nearest_mode", "round_prefer_floor"),
		cubicA:    float64(attrFloatAny(n, "cubic_coeff_a", -0.75)),
		excludeOu: n.AttrInt("exclude_outside", 0) != 0,
		axes:      n.AttrInts("axes", nil),
		policy:    n.AttrString("keep_aspect_ratio_policy", "stretch"),
	}
	switch k.mode {
	case "nearest", "linear", "cubic":
	default:
		return nil, unsupportedErrf("Resize mode %q", k.mode)
	}
	switch k.coord {
	case "half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nn", "half_pixel_symmetric":
	default:
		return nil, unsupportedErrf("Resize coordinate_transformation_mode %q", k.coord)
	}
	switch k.nearest {
	case "round_prefer_floor", "round_prefer_ceil", "floor", "ceil":
	default:
		return nil, unsupportedErrf("Resize nearest_mode %q", k.nearest)
	}
	if k.policy != "stretch" {
		return nil, unsupportedErrf("Resize keep_aspect_ratio_policy %q", k.policy)
	}
	if n.AttrInt("antialias", 0) != 0 {
		return nil, unsupportedErrf("Resize antialias")
	}
	if name := n.Input(2); name != "" {
		c := bc.Const(name)
		if c == nil || c.DType != Float32 {
			return nil, unsupportedErrf("Resize scales %q must be a float constant", name)
		}
		if c.Len() > 0 {
			for _, v := range c.F32 {
				if !(v > 0) {
					return nil, shapeErrf("Resize scale %g", v)
				}
				k.scales = append(k.scales, float64(v))
			}
		}
	}
	if k.scales == nil {
		sizes, ok, err := constIntsInput(bc, 3)
		if err != nil {
			return nil, err
		}
		if !ok || len(sizes) == 0 {
			return nil, shapeErrf("Resize needs scales or sizes")
		}
		k.sizes = sizes
	}
	return k, nil
}

// plan returns per-dimension output sizes and scales for input shape x.
func (k *resizeKernel) plan(x []int) (out []int, scale []float64, err error) {
	r := len(x)
	axes := k.axes
	if axes == nil {
		axes = make([]int, r)
		for i := range axes {
			axes[i] = i
		}
	}
	given := len(k.scales)
	if k.sizes != nil {
		given = len(k.sizes)
	}
	if given != len(axes) {
		return nil, nil, shapeErrf("Resize has %d scales/sizes for %d axes of %v", given, len(axes), x)
	}
	out, scale = append([]int(nil), x...), make([]float64, r)
	for i := range scale {
		scale[i] = 1
	}
	for i, a := range axes {
		ax, err := normAxis("Resize", a, r, false)
		if err != nil {
			return nil, nil, err
		}
		if x[ax] < 0 {
			return nil, nil, shapeErrf("Resize of dynamic dimension %d of %v", ax, x)
		}
		if k.scales != nil {
			scale[ax] = k.scales[i]
			out[ax] = int(math.Floor(float64(x[ax]) * k.scales[i]))
		} else {
			out[ax] = k.sizes[i]
			if x[ax] > 0 {
				scale[ax] = float64(k.sizes[i]) / float64(x[ax])
			}
		}
		if out[ax] < 0 || (out[ax] > 0 && x[ax] == 0) {
			return nil, nil, shapeErrf("Resize of %v to %v", x, out)
		}
	}
	if NumElements(out) < 0 || NumElements(out) > math.MaxInt32 {
		return nil, nil, shapeErrf("Resize output %v too large", out)
	}
	return out, scale, nil
}

func (k *resizeKernel) OutputTypes(in []Type) ([]Type, error) {
	if err := needInputs("Resize", in, 1); err != nil {
		return nil, err
	}
	if k.mode != "nearest" {
		if err := needF32("Resize", in, 0); err != nil {
			return nil, err
		}
	} else if in[0].DType.Size() == 0 {
		return nil, dtypeErrf("Resize on %v", in[0].DType)
	}
	out, _, err := k.plan(in[0].Shape)
	if err != nil {
		return nil, err
	}
	return []Type{{DType: in[0].DType, Shape: out}}, nil
}

// MACs counts a few operations per output element.
func (k *resizeKernel) MACs(in, out []Type) int64 { return 4 * elemCount(out) }

// source maps output coordinate o of an axis (in -> outN, scale) to the input.
func (k *resizeKernel) source(o, in, outN int, scale float64) float64 {
	x := float64(o)
	switch k.coord {
	case "half_pixel":
		return (x+0.5)/scale - 0.5
	case "half_pixel_symmetric":
		adj := float64(outN) / (scale * float64(in))
		center := float64(in) / 2
		off := center * (1 - adj)
		return off + (x+0.5)/scale - 0.5
	case "pytorch_half_pixel":
		if outN > 1 {
			return (x+0.5)/scale - 0.5
		}
		return 0
	case "align_corners":
		if outN == 1 {
			return 0
		}
		return x * float64(in-1) / float64(outN-1)
	case "asymmetric":
		return x / scale
	case "tf_half_pixel_for_nn":
		return (x + 0.5) / scale
	}
	return x / scale
}

func (k *resizeKernel) nearestIndex(v float64, in int) int {
	var i float64
	switch k.nearest {
	case "round_prefer_floor":
		if v-math.Floor(v) == 0.5 {
			i = math.Floor(v)
		} else {
			i = math.Round(v)
		}
	case "round_prefer_ceil":
		if v-math.Floor(v) == 0.5 {
			i = math.Ceil(v)
		} else {
			i = math.Round(v)
		}
	case "floor":
		i = math.Floor(v)
	case "ceil":
		i = math.Ceil(v)
	}
	return max(0, min(int(i), in-1))
}

func (k *resizeKernel) Run(rc *RunContext, in, out []*Tensor) error {
	x, y := in[0], out[0]
	os, scale, err := k.plan(x.Shape)
	if err != nil {
		return err
	}
	if k.mode == "nearest" {
		idx := rc.ScratchI32(y.Len())
		tabs := make([][]int, len(os))
		for d := range os {
			tabs[d] = make([]int, os[d])
			for o := range tabs[d] {
				if os[d] == x.Shape[d] && scale[d] == 1 {
					tabs[d][o] = o
				} else {
					tabs[d][o] = k.nearestIndex(k.source(o, x.Shape[d], os[d], scale[d]), x.Shape[d])
				}
			}
		}
		mapIndex(x.Shape, os, idx, func(d, c int) int { return tabs[d][c] })
		gatherElems(y, x, idx, 0)
		return nil
	}
	// Separable: interpolate one resized axis at a time.
	cur := x.F32
	shape := append([]int(nil), x.Shape...)
	for d := range os {
		if os[d] == shape[d] && scale[d] == 1 {
			continue
		}
		next := make([]float32, NumElements(shape)/max(shape[d], 1)*os[d])
		if shape[d] == 0 {
			next = next[:0]
		}
		k.interpAxis(cur, next, shape, d, os[d], scale[d])
		cur = next
		shape[d] = os[d]
	}
	copy(y.F32, cur)
	return nil
}

// interpAxis resizes src (shape) along axis d to n points into dst.
func (k *resizeKernel) interpAxis(src, dst []float32, shape []int, d, n int, scale float64) {
	in := shape[d]
	outer, inner := NumElements(shape[:d]), NumElements(shape[d+1:])
	type tap struct {
		i []int
		w []float64
	}
	taps := make([]tap, n)
	for o := range taps {
		v := k.source(o, in, n, scale)
		if k.mode == "linear" {
			v = math.Max(0, math.Min(v, float64(in-1)))
			i0 := int(math.Floor(v))
			i1 := min(i0+1, in-1)
			f := v - float64(i0)
			taps[o] = tap{i: []int{i0, i1}, w: []float64{1 - f, f}}
			continue
		}
		// cubic: 4 taps with coefficient a; outside taps clamp or, with
		// exclude_outside, get weight 0 and the rest renormalized.
		i0 := int(math.Floor(v))
		f := v - float64(i0)
		a := k.cubicA
		cub := func(t float64) float64 {
			t = math.Abs(t)
			switch {
			case t <= 1:
				return ((a+2)*t-(a+3))*t*t + 1
			case t < 2:
				return ((a*t-5*a)*t+8*a)*t - 4*a
			}
			return 0
		}
		var tp tap
		sum := 0.0
		for j := -1; j <= 2; j++ {
			w := cub(f - float64(j))
			idx := i0 + j
			if idx < 0 || idx >= in {
				if k.excludeOu {
					w = 0
				}
				idx = max(0, min(idx, in-1))
			}
			tp.i = append(tp.i, idx)
			tp.w = append(tp.w, w)
			sum += w
		}
		if k.excludeOu && sum != 0 {
			for j := range tp.w {
				tp.w[j] /= sum
			}
		}
		taps[o] = tp
	}
	for o := 0; o < outer; o++ {
		s := src[o*in*inner : (o+1)*in*inner]
		t := dst[o*n*inner : (o+1)*n*inner]
		for j, tp := range taps {
			row := t[j*inner : (j+1)*inner]
			for i := range row {
				var acc float64
				for q, si := range tp.i {
					acc += tp.w[q] * float64(s[si*inner+i])
				}
				row[i] = float32(acc)
			}
		}
	}
}
