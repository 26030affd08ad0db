package pipeline

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"image/png"
	"sync"

	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/preprocess"
)

// The input image cut: cloud-only, the model input sent as the 8-bit
// image it was made from, losslessly as a PNG, instead of as float32. It
// is the honest baseline every other cut must beat (a compressed input,
// as the SC2 benchmark asks): a 28x28 MNIST digit is about 250 bytes as
// a PNG, 4,096 as a float32 tensor.
//
// It is the compact coding of the input cut (index 0 in Cuts) of a model
// that declares its preprocessing (nn/preprocess, in its metadata): the
// edge turns the input tensor back into the image at the declaration's
// size (Spec.ToImage), the cloud decodes the PNG, bounded (its header must
// declare exactly that size before any pixel is decoded), and applies the
// declaration's pixel steps (Spec.Sized: padding, scale, mean/std,
// layout). An input that is not exactly such an image (a random tensor,
// a resampled photo) goes as computed, so the cut never changes a
// prediction.

// imageCoding codes the model input as a PNG of the image it was
// preprocessed from.
type imageCoding struct {
	spec, sized *preprocess.Spec
	w, h        int
	pool        pngBuffers
}

// imageCodingKind starts what an image coding's fingerprint hashes.
const imageCodingKind = "splitinfer.image/png\n"

// newImageCoding returns the input image cut of whole, or nil when the
// model declares no preprocessing, has more than one input, or declares
// one whose images are not of a fixed size or do not make its input.
func newImageCoding(whole *nn.Program) (*compactCut, error) {
	g := whole.Graph()
	spec, _, err := preprocess.FromGraph(g)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	cuts := Cuts(whole)
	if spec == nil || len(whole.Inputs()) != 1 || len(cuts) == 0 || cuts[0].Index != -1 {
		return nil, nil
	}
	var in nn.ValueInfo
	for _, vi := range g.Inputs {
		if vi.Name == cuts[0].Tensor {
			in = vi
		}
	}
	shape, err := spec.Shape()
	if err != nil || spec.Check(in) != nil {
		return nil, nil // images of any size, or not the model's input: no image cut
	}
	sized, err := spec.Sized()
	if err != nil {
		return nil, nil
	}
	w, h, _ := spec.ImageSize()
	sum := sha256.Sum256([]byte(imageCodingKind + spec.String()))
	return &compactCut{index: 0, name: cuts[0].Tensor, fp: binary.BigEndian.Uint32(sum[:4]),
		coding: &imageCoding{spec: spec, sized: sized, w: w, h: h},
		like:   nn.New(nn.Float32, append([]int{1}, shape...)...)}, nil
}

func (c *imageCoding) what() string { return "input as PNG" }

// pngBuffers keeps png.Encoder's buffers (its zlib writer) between
// requests.
type pngBuffers struct{ p sync.Pool }

func (b *pngBuffers) Get() *png.EncoderBuffer   { eb, _ := b.p.Get().(*png.EncoderBuffer); return eb }
func (b *pngBuffers) Put(eb *png.EncoderBuffer) { b.p.Put(eb) }

func (c *imageCoding) encode(t *nn.Tensor) ([]byte, error) {
	img, exact, err := c.spec.ToImage(t.F32)
	if err != nil {
		return nil, err
	}
	if !exact {
		return nil, errInexact
	}
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression, BufferPool: &c.pool}
	if err := enc.Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func (c *imageCoding) decode(data []byte, like *nn.Tensor) (*nn.Tensor, error) {
	format, w, h, err := preprocess.Header(data)
	if err != nil {
		return nil, err
	}
	if format != "png" || w != c.w || h != c.h {
		return nil, fmt.Errorf("a %dx%d %s image, the model takes %dx%d PNG images", w, h, format, c.w, c.h)
	}
	img, err := preprocess.Decode(data, preprocess.Limits{MaxPixels: c.w * c.h})
	if err != nil {
		return nil, err
	}
	if b := img.Bounds(); b.Dx() != c.w || b.Dy() != c.h {
		return nil, fmt.Errorf("decoded a %v image, the header said %dx%d", b, c.w, c.h)
	}
	t := nn.New(nn.Float32, like.Shape...)
	c.sized.Image(img, t.F32)
	return t, nil
}
