package actcode

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/splitinfer/splitinfer/nn"
)

// MetaPrefix starts the graph metadata key under which a model carries
// the codec of one cut (MetaPrefix + the cut tensor's name); .sinf files
// keep graph metadata, so the tables travel with the model and the edge
// and the cloud load the same ones. Metadata is not part of the model's
// content hash: requests carry the codec's Fingerprint besides the hash.
const MetaPrefix = "splitinfer.actcode:"

// Attach stores c in g's metadata as the codec of cut tensor name, as
// base64 of MarshalBinary: metadata is text (ONNX metadata_props are
// UTF-8 strings), so the model still exports to ONNX.
func Attach(g *nn.Graph, name string, c *Codec) error {
	b, err := c.MarshalBinary()
	if err != nil {
		return err
	}
	if g.Meta == nil {
		g.Meta = map[string]string{}
	}
	g.Meta[MetaPrefix+name] = base64.StdEncoding.EncodeToString(b)
	return nil
}

// Lookup returns the codec g carries for cut tensor name, or nil when it
// carries none.
func Lookup(g *nn.Graph, name string) (*Codec, error) {
	s, ok := g.Meta[MetaPrefix+name]
	if !ok {
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("cut %q: %w: codec metadata is not base64: %v", name, ErrFormat, err)
	}
	c, err := Unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("cut %q: %w", name, err)
	}
	return c, nil
}

// Cuts lists the cut tensors g carries codecs for.
func Cuts(g *nn.Graph) []string {
	var out []string
	for k := range g.Meta {
		if name, ok := strings.CutPrefix(k, MetaPrefix); ok {
			out = append(out, name)
		}
	}
	return out
}

// Plane returns the channel count and plane size a tensor of shape
// (batch 1) is coded as: [1, C, H, W] and [C, H, W] as C planes of H x W,
// [1, C] as C planes of 1 x 1, anything else as one channel.
func Plane(shape []int) (c, h, w int, err error) {
	s := shape
	if len(s) >= 2 && s[0] == 1 {
		s = s[1:]
	}
	switch len(s) {
	case 1:
		c, h, w = s[0], 1, 1
	case 3:
		c, h, w = s[0], s[1], s[2]
	default:
		c, h, w = 1, 1, max(nn.NumElements(s), 0)
	}
	if c < 1 || h < 1 || w < 1 || c*h*w > MaxElements {
		return 0, 0, 0, fmt.Errorf("%w: tensor shape %v", ErrShape, shape)
	}
	return c, h, w, nil
}

// RealValues writes t's real values into dst (len t.Len()): float32 as is,
// int8 and uint8 through their quantization (scale x (q - zero point)).
func RealValues(t *nn.Tensor, dst []float32) error {
	if len(dst) != t.Len() {
		return fmt.Errorf("%w: %d values for a tensor of %d", ErrShape, len(dst), t.Len())
	}
	if t.DType == nn.Float32 {
		copy(dst, t.F32)
		return nil
	}
	return quantRuns(t, func(lo, hi int, scale float32, zp int32) {
		if t.DType == nn.Int8 {
			for i, v := range t.I8[lo:hi] {
				dst[lo+i] = scale * float32(int32(v)-zp)
			}
			return
		}
		for i, v := range t.U8[lo:hi] {
			dst[lo+i] = scale * float32(int32(v)-zp)
		}
	})
}

// SetRealValues writes real values into t, quantizing them with t's own
// parameters when t is int8 or uint8 (ONNX QuantizeLinear's rounding).
func SetRealValues(t *nn.Tensor, src []float32) error {
	if len(src) != t.Len() {
		return fmt.Errorf("%w: %d values for a tensor of %d", ErrShape, len(src), t.Len())
	}
	if t.DType == nn.Float32 {
		copy(t.F32, src)
		return nil
	}
	return quantRuns(t, func(lo, hi int, scale float32, zp int32) {
		if t.DType == nn.Int8 {
			for i, v := range src[lo:hi] {
				t.I8[lo+i] = int8(nn.QuantizeValue(v, scale, zp, -128, 127))
			}
			return
		}
		for i, v := range src[lo:hi] {
			t.U8[lo+i] = uint8(nn.QuantizeValue(v, scale, zp, 0, 255))
		}
	})
}

// quantRuns calls f for each run of t's elements [lo, hi) that share a
// scale and zero point (int8 and uint8 tensors only): the whole tensor
// for per-tensor quantization, each slice along the axis otherwise.
func quantRuns(t *nn.Tensor, f func(lo, hi int, scale float32, zp int32)) error {
	if t.DType != nn.Int8 && t.DType != nn.Uint8 {
		return fmt.Errorf("%w: dtype %v", ErrShape, t.DType)
	}
	q := t.Quant
	if q == nil || len(q.Scale) == 0 || len(q.Scale) != len(q.ZeroPoint) {
		return fmt.Errorf("%w: %v tensor without quantization parameters", ErrShape, t.DType)
	}
	n := t.Len()
	if len(q.Scale) == 1 || q.Axis < 0 || q.Axis >= len(t.Shape) {
		f(0, n, q.Scale[0], q.ZeroPoint[0])
		return nil
	}
	inner := 1
	for _, d := range t.Shape[q.Axis+1:] {
		inner *= d
	}
	if inner == 0 {
		return nil
	}
	for lo, k := 0, 0; lo < n; lo, k = lo+inner, (k+1)%len(q.Scale) {
		f(lo, min(lo+inner, n), q.Scale[k], q.ZeroPoint[k])
	}
	return nil
}
