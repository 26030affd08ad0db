// Package preprocess turns encoded images (PNG, JPEG) into a model's input
// tensor, by a declaration that travels with the model: colour mode and
// channel order, resize (and its interpolation), centre crop, padding,
// scale, per-channel mean/std, and layout. The declaration is a short text
// (Parse, Spec.String) stored in the graph's metadata under MetaKey, so a
// .sinf file carries it; class labels travel the same way (LabelsMetaKey).
//
// Decoding is bounded: an image's dimensions are read from its header
// (image.DecodeConfig) and checked against a pixel limit before any pixel
// is decoded, so a small file that declares a huge image (a decompression
// bomb) costs nothing.
//
// The package is pure: no I/O beyond the bytes it is given.
package preprocess

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // registers the JPEG decoder
	_ "image/png"  // registers the PNG decoder
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/splitinfer/splitinfer/nn"
)

// MetaKey is the graph metadata key (nn.Graph.Meta) of a model's
// preprocessing declaration; LabelsMetaKey that of its class labels, one
// per line in class order.
const (
	MetaKey       = "splitinfer.preprocess"
	LabelsMetaKey = "splitinfer.labels"
)

// MNIST is the declaration of the MNIST models: grey, 28x28, padded by 2
// to 32x32, divided by 255.
const MNIST = "color=gray resize=28x28 pad=2 scale=1/255"

// ImageNet is the usual declaration of torchvision's ImageNet models
// (MobileNetV2, ResNet): RGB, shorter side resized to 256 (bilinear),
// centre crop 224, scaled to [0,1], normalised by ImageNet's mean/std, NCHW.
const ImageNet = "color=rgb resize=256 interp=bilinear crop=224x224 scale=1/255 mean=0.485,0.456,0.406 std=0.229,0.224,0.225 layout=nchw"

// named are the declarations Parse takes by name.
var named = map[string]string{"mnist": MNIST, "imagenet": ImageNet}

// DefaultMaxPixels bounds an image's width x height (Limits.MaxPixels):
// 4 Mpixels, e.g. 2048x2048, whose float32 RGB planes take 48 MiB.
const DefaultMaxPixels = 2048 * 2048

// Errors. Callers match them with errors.Is.
var (
	ErrSpec     = errors.New("preprocess: invalid declaration")
	ErrNotImage = errors.New("preprocess: not a PNG or JPEG image")
	ErrTooLarge = errors.New("preprocess: image too large")
	ErrShape    = errors.New("preprocess: declaration does not fit the model input")
)

// Color is a colour mode with its channel order.
type Color string

// Colour modes.
const (
	Gray Color = "gray"
	RGB  Color = "rgb"
	BGR  Color = "bgr"
)

// Channels is the number of channels of the mode.
func (c Color) Channels() int {
	if c == Gray {
		return 1
	}
	return 3
}

// Spec is a preprocessing declaration. The steps run in this order:
// convert to Color, resize, centre crop, pad (with black), then
// x*Scale (or x/Divide), then (x-Mean[c])/Std[c], written in Layout.
type Spec struct {
	Color Color
	// ResizeShort, when set, resizes the shorter side to it keeping the
	// aspect ratio; ResizeW x ResizeH, when set, resizes to exactly that.
	ResizeShort      int
	ResizeW, ResizeH int
	// Interp is "bilinear" (default) or "nearest".
	Interp string
	// CropW x CropH is a centre crop (0: none).
	CropW, CropH int
	// Pad adds that many black pixels on every side.
	Pad int
	// Divide (when not 0) divides each pixel value (0..255); otherwise
	// Scale (default 1) multiplies it. "scale=1/255" sets Divide 255, so
	// values are exactly float32(p)/255.
	Divide, Scale float64
	// Mean and Std normalise per channel (empty: 0 and 1).
	Mean, Std []float64
	// Layout is "nchw" (default) or "nhwc".
	Layout string
}

// Parse reads a declaration: space- or comma-separated key=value pairs,
// e.g. MNIST and ImageNet, which it also takes by name ("mnist",
// "imagenet"). Keys: color (gray, rgb, bgr), resize (N: the
// shorter side; WxH: exactly), interp (bilinear, nearest), crop (N or WxH),
// pad, scale (a number or 1/N), mean and std (one value per channel,
// comma-separated), layout (nchw, nhwc).
func Parse(s string) (*Spec, error) {
	if decl, ok := named[s]; ok {
		s = decl
	}
	sp := &Spec{Color: RGB, Interp: "bilinear", Layout: "nchw", Scale: 1}
	for _, f := range strings.Fields(s) {
		k, v, ok := strings.Cut(f, "=")
		if !ok || v == "" {
			return nil, fmt.Errorf("%w: %q is not key=value", ErrSpec, f)
		}
		var err error
		switch k {
		case "color":
			sp.Color = Color(v)
			if sp.Color != Gray && sp.Color != RGB && sp.Color != BGR {
				err = errors.New("want gray, rgb or bgr")
			}
		case "resize":
			if strings.Contains(v, "x") {
				sp.ResizeW, sp.ResizeH, err = parseWxH(v)
			} else {
				sp.ResizeShort, err = parseSide(v)
			}
		case "interp":
			sp.Interp = v
			if v != "bilinear" && v != "nearest" {
				err = errors.New("want bilinear or nearest")
			}
		case "crop":
			if strings.Contains(v, "x") {
				sp.CropW, sp.CropH, err = parseWxH(v)
			} else {
				sp.CropW, err = parseSide(v)
				sp.CropH = sp.CropW
			}
		case "pad":
			sp.Pad, err = strconv.Atoi(v)
			if err == nil && (sp.Pad < 0 || sp.Pad > 1024) {
				err = errors.New("want 0..1024")
			}
		case "scale":
			if num, den, ok := strings.Cut(v, "/"); ok && num == "1" {
				sp.Divide, err = strconv.ParseFloat(den, 64)
				if err == nil && !(sp.Divide > 0 && !math.IsInf(sp.Divide, 0)) {
					err = errors.New("want a positive divisor")
				}
			} else {
				sp.Scale, err = strconv.ParseFloat(v, 64)
				if err == nil && (math.IsNaN(sp.Scale) || math.IsInf(sp.Scale, 0) || sp.Scale == 0) {
					err = errors.New("want a finite non-zero number")
				}
			}
		case "mean":
			sp.Mean, err = parseFloats(v)
		case "std":
			sp.Std, err = parseFloats(v)
			for _, x := range sp.Std {
				if x == 0 {
					err = errors.New("std must not be 0")
				}
			}
		case "layout":
			sp.Layout = v
			if v != "nchw" && v != "nhwc" {
				err = errors.New("want nchw or nhwc")
			}
		default:
			return nil, fmt.Errorf("%w: unknown key %q (known: color, resize, interp, crop, pad, scale, mean, std, layout)", ErrSpec, k)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s=%s: %v", ErrSpec, k, v, err)
		}
	}
	c := sp.Color.Channels()
	if (len(sp.Mean) != 0 && len(sp.Mean) != c) || (len(sp.Std) != 0 && len(sp.Std) != c) {
		return nil, fmt.Errorf("%w: mean and std need %d values for color=%s", ErrSpec, c, sp.Color)
	}
	if sp.ResizeShort == 0 && sp.ResizeW == 0 && sp.CropW == 0 {
		return nil, fmt.Errorf("%w: declare resize or crop (the size images are brought to)", ErrSpec)
	}
	return sp, nil
}

func parseSide(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 16384 {
		return 0, fmt.Errorf("%q: want 1..16384", v)
	}
	return n, nil
}

func parseWxH(v string) (int, int, error) {
	a, b, _ := strings.Cut(v, "x")
	w, err := parseSide(a)
	if err != nil {
		return 0, 0, err
	}
	h, err := parseSide(b)
	return w, h, err
}

func parseFloats(v string) ([]float64, error) {
	var out []float64
	for _, p := range strings.Split(v, ",") {
		x, err := strconv.ParseFloat(p, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("%q is not a finite number", p)
		}
		out = append(out, x)
	}
	return out, nil
}

// String is the declaration in Parse's syntax.
func (s *Spec) String() string {
	parts := []string{"color=" + string(s.Color)}
	switch {
	case s.ResizeW > 0:
		parts = append(parts, fmt.Sprintf("resize=%dx%d", s.ResizeW, s.ResizeH))
	case s.ResizeShort > 0:
		parts = append(parts, fmt.Sprintf("resize=%d", s.ResizeShort))
	}
	if s.Interp != "" && s.Interp != "bilinear" {
		parts = append(parts, "interp="+s.Interp)
	}
	if s.CropW > 0 {
		parts = append(parts, fmt.Sprintf("crop=%dx%d", s.CropW, s.CropH))
	}
	if s.Pad > 0 {
		parts = append(parts, "pad="+strconv.Itoa(s.Pad))
	}
	if s.Divide != 0 {
		parts = append(parts, "scale=1/"+strconv.FormatFloat(s.Divide, 'g', -1, 64))
	} else if s.Scale != 1 && s.Scale != 0 {
		parts = append(parts, "scale="+strconv.FormatFloat(s.Scale, 'g', -1, 64))
	}
	if len(s.Mean) > 0 {
		parts = append(parts, "mean="+joinFloats(s.Mean))
	}
	if len(s.Std) > 0 {
		parts = append(parts, "std="+joinFloats(s.Std))
	}
	if s.Layout == "nhwc" {
		parts = append(parts, "layout=nhwc")
	}
	return strings.Join(parts, " ")
}

func joinFloats(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatFloat(x, 'g', -1, 64)
	}
	return strings.Join(s, ",")
}

// size returns the image size after resize and crop, before padding, for
// a w x h source (0, 0 when it depends on the source and none is given).
func (s *Spec) size(w, h int) (int, int) {
	switch {
	case s.ResizeW > 0:
		w, h = s.ResizeW, s.ResizeH
	case s.ResizeShort > 0 && w > 0 && h > 0:
		w, h = shortSide(w, h, s.ResizeShort)
	}
	if s.CropW > 0 {
		w, h = s.CropW, s.CropH
	}
	return w, h
}

// shortSide is torchvision's Resize(n): the shorter side becomes n, the
// longer one keeps the aspect ratio (truncated).
func shortSide(w, h, n int) (int, int) {
	if w <= h {
		return n, max(1, int(float64(n)*float64(h)/float64(w)))
	}
	return max(1, int(float64(n)*float64(w)/float64(h))), n
}

// Shape is one image's tensor shape without the batch dimension: [C,H,W]
// (nchw) or [H,W,C] (nhwc). It fails when the size depends on the image
// (resize=N without crop).
func (s *Spec) Shape() ([]int, error) {
	w, h := s.size(0, 0)
	if w == 0 || h == 0 {
		return nil, fmt.Errorf("%w: the output size depends on the image (resize=N needs crop)", ErrSpec)
	}
	w, h = w+2*s.Pad, h+2*s.Pad
	c := s.Color.Channels()
	if s.Layout == "nhwc" {
		return []int{h, w, c}, nil
	}
	return []int{c, h, w}, nil
}

// Check reports whether the declaration produces the model input vi
// (float32, [batch, ...Shape()], dynamic dimensions match anything).
func (s *Spec) Check(vi nn.ValueInfo) error {
	shape, err := s.Shape()
	if err != nil {
		return err
	}
	want := append([]int{-1}, shape...)
	if vi.Type.DType != nn.Undefined && vi.Type.DType != nn.Float32 {
		return fmt.Errorf("%w: input %q is %v, images give float32", ErrShape, vi.Name, vi.Type.DType)
	}
	if vi.Type.Shape == nil {
		return nil
	}
	if len(vi.Type.Shape) != len(want) {
		return fmt.Errorf("%w: input %q has shape %v, the declaration %q gives [N %v]", ErrShape, vi.Name, vi.Type.Shape, s, shape)
	}
	for i, d := range vi.Type.Shape {
		if i > 0 && d >= 0 && d != want[i] {
			return fmt.Errorf("%w: input %q has shape %v, the declaration %q gives [N %v]", ErrShape, vi.Name, vi.Type.Shape, s, shape)
		}
	}
	return nil
}

// Limits bound decoding. Zero fields take the defaults.
type Limits struct {
	// MaxPixels bounds width x height as the header declares it
	// (default DefaultMaxPixels).
	MaxPixels int
}

// Header reads an image's format and size from its header only.
func Header(b []byte) (format string, w, h int, err error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return "", 0, 0, fmt.Errorf("%w (%d bytes): %v", ErrNotImage, len(b), err)
	}
	return format, cfg.Width, cfg.Height, nil
}

// Decode decodes a PNG or JPEG after checking its declared size against lim.
func Decode(b []byte, lim Limits) (image.Image, error) {
	maxPix := lim.MaxPixels
	if maxPix <= 0 {
		maxPix = DefaultMaxPixels
	}
	_, w, h, err := Header(b)
	if err != nil {
		return nil, err
	}
	if w <= 0 || h <= 0 || int64(w)*int64(h) > int64(maxPix) {
		return nil, fmt.Errorf("%w: %dx%d pixels declared, the limit is %d pixels", ErrTooLarge, w, h, maxPix)
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotImage, err)
	}
	return img, nil
}

// Batch decodes and preprocesses images into one float32 tensor
// [len(images), ...Shape()].
func (s *Spec) Batch(images [][]byte, lim Limits) (*nn.Tensor, error) {
	shape, err := s.Shape()
	if err != nil {
		return nil, err
	}
	if len(images) == 0 {
		return nil, fmt.Errorf("%w: no image", ErrNotImage)
	}
	per := nn.NumElements(shape)
	t := nn.New(nn.Float32, append([]int{len(images)}, shape...)...)
	for i, b := range images {
		img, err := Decode(b, lim)
		if err != nil {
			return nil, fmt.Errorf("image %d: %w", i, err)
		}
		s.Image(img, t.F32[i*per:(i+1)*per])
	}
	return t, nil
}

// Image preprocesses a decoded image into dst (len: the product of
// Shape()); Shape must not fail.
func (s *Spec) Image(img image.Image, dst []float32) {
	c := s.Color.Channels()
	pl := planes(img, s.Color)
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if rw, rh := s.resizeTo(w, h); rw != w || rh != h {
		pl = resize(pl, c, w, h, rw, rh, s.Interp == "nearest")
		w, h = rw, rh
	}
	x0, y0, cw, ch := 0, 0, w, h
	if s.CropW > 0 {
		cw, ch = s.CropW, s.CropH
		x0 = int(math.Round(float64(w-cw) / 2))
		y0 = int(math.Round(float64(h-ch) / 2))
	}
	ow, oh := cw+2*s.Pad, ch+2*s.Pad
	for k := 0; k < c; k++ {
		for y := 0; y < oh; y++ {
			for x := 0; x < ow; x++ {
				sx, sy := x-s.Pad+x0, y-s.Pad+y0
				var p float32 // padding (and a crop beyond the image) is black
				if x >= s.Pad && x < s.Pad+cw && y >= s.Pad && y < s.Pad+ch && sx >= 0 && sx < w && sy >= 0 && sy < h {
					p = pl[k*w*h+sy*w+sx]
				}
				p = s.pixel(p, k)
				if s.Layout == "nhwc" {
					dst[(y*ow+x)*c+k] = p
				} else {
					dst[k*oh*ow+y*ow+x] = p
				}
			}
		}
	}
}

func (s *Spec) resizeTo(w, h int) (int, int) {
	switch {
	case s.ResizeW > 0:
		return s.ResizeW, s.ResizeH
	case s.ResizeShort > 0:
		return shortSide(w, h, s.ResizeShort)
	}
	return w, h
}

// planes returns the image's pixel values 0..255 as c planes of w x h, in
// the mode's channel order. Grey from colour is Go's luminance
// (color.GrayModel); 16-bit images keep their high byte's range.
func planes(img image.Image, mode Color) []float32 {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	c := mode.Channels()
	out := make([]float32, c*w*h)
	if g, ok := img.(*image.Gray); ok && mode == Gray {
		for y := 0; y < h; y++ {
			row := g.Pix[y*g.Stride : y*g.Stride+w]
			for x, v := range row {
				out[y*w+x] = float32(v)
			}
		}
		return out
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			px := img.At(b.Min.X+x, b.Min.Y+y)
			i := y*w + x
			if mode == Gray {
				out[i] = float32(color.GrayModel.Convert(px).(color.Gray).Y)
				continue
			}
			r, g, bb, a := px.RGBA()
			if a != 0 && a != 0xffff { // un-premultiply
				r, g, bb = r*0xffff/a, g*0xffff/a, bb*0xffff/a
			}
			rv, gv, bv := float32(r>>8), float32(g>>8), float32(bb>>8)
			if mode == BGR {
				rv, bv = bv, rv
			}
			out[i], out[w*h+i], out[2*w*h+i] = rv, gv, bv
		}
	}
	return out
}

// resize resamples c planes from w x h to rw x rh, bilinear with
// half-pixel centres (PIL and torchvision without antialiasing) or
// nearest.
func resize(src []float32, c, w, h, rw, rh int, nearest bool) []float32 {
	dst := make([]float32, c*rw*rh)
	sx, sy := float64(w)/float64(rw), float64(h)/float64(rh)
	for k := 0; k < c; k++ {
		in := src[k*w*h : (k+1)*w*h]
		out := dst[k*rw*rh : (k+1)*rw*rh]
		for y := 0; y < rh; y++ {
			fy := (float64(y)+0.5)*sy - 0.5
			for x := 0; x < rw; x++ {
				fx := (float64(x)+0.5)*sx - 0.5
				if nearest {
					ix := min(int(float64(x)*sx), w-1)
					iy := min(int(float64(y)*sy), h-1)
					out[y*rw+x] = in[iy*w+ix]
					continue
				}
				x0, y0 := int(math.Floor(fx)), int(math.Floor(fy))
				ax, ay := float32(fx-float64(x0)), float32(fy-float64(y0))
				x1, y1 := clamp(x0+1, w), clamp(y0+1, h)
				x0, y0 = clamp(x0, w), clamp(y0, h)
				top := in[y0*w+x0]*(1-ax) + in[y0*w+x1]*ax
				bot := in[y1*w+x0]*(1-ax) + in[y1*w+x1]*ax
				out[y*rw+x] = top*(1-ay) + bot*ay
			}
		}
	}
	return dst
}

func clamp(v, n int) int { return max(0, min(v, n-1)) }

// FromGraph returns the declaration and labels recorded in g's metadata
// (nil and nil when it records none).
func FromGraph(g *nn.Graph) (*Spec, []string, error) {
	var spec *Spec
	if s, ok := g.Meta[MetaKey]; ok {
		var err error
		if spec, err = Parse(s); err != nil {
			return nil, nil, err
		}
	}
	return spec, Labels(g.Meta[LabelsMetaKey]), nil
}

// Labels splits a labels text (one label per line; a trailing newline and
// CR line ends are fine) into labels.
func Labels(text string) []string {
	text = strings.TrimRight(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	if text == "" {
		return nil
	}
	return strings.Split(text, "\n")
}

// LoadLabels reads a labels file, one label a line (Labels); a file
// without labels is an error.
func LoadLabels(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("labels: %w", err)
	}
	labels := Labels(string(b))
	if len(labels) == 0 {
		return nil, fmt.Errorf("labels %s: no labels", path)
	}
	return labels, nil
}

// Record writes the declaration and labels into g's metadata (a nil spec
// or empty labels leave theirs unchanged).
func Record(g *nn.Graph, spec *Spec, labels []string) {
	if g.Meta == nil {
		g.Meta = map[string]string{}
	}
	if spec != nil {
		g.Meta[MetaKey] = spec.String()
	}
	if len(labels) > 0 {
		g.Meta[LabelsMetaKey] = strings.Join(labels, "\n")
	}
}

// ImageSize is the size of the image the declaration brings its input
// to before padding (after resize and crop): the size ToImage gives. It
// fails when that depends on the image (resize=N without crop).
func (s *Spec) ImageSize() (w, h int, err error) {
	if w, h = s.size(0, 0); w == 0 || h == 0 {
		return 0, 0, fmt.Errorf("%w: the image size depends on the image (resize=N needs crop)", ErrSpec)
	}
	return w, h, nil
}

// Sized is the declaration for images already brought to ImageSize
// (what ToImage gives): the same pixel steps (padding, scale, mean/std,
// layout) with resize and crop done, so Sized().Image(ToImage(x)) is x
// again for an exact x.
func (s *Spec) Sized() (*Spec, error) {
	w, h, err := s.ImageSize()
	if err != nil {
		return nil, err
	}
	c := *s
	c.ResizeShort, c.ResizeW, c.ResizeH, c.CropW, c.CropH = 0, w, h, 0, 0
	return &c, nil
}

// pixel is the value the declaration makes of pixel value p (0..255) of
// channel k, as Image computes it.
func (s *Spec) pixel(p float32, k int) float32 {
	if s.Divide != 0 {
		p /= float32(s.Divide)
	} else if s.Scale != 1 && s.Scale != 0 {
		p *= float32(s.Scale)
	}
	if mean, std, ok := s.norm(k); ok {
		p = float32((float64(p) - mean) / std)
	}
	return p
}

// norm is channel k's mean and std, ok when the declaration normalises.
func (s *Spec) norm(k int) (mean, std float64, ok bool) {
	mean, std = 0, 1
	if len(s.Mean) > 0 {
		mean = s.Mean[k]
	}
	if len(s.Std) > 0 {
		std = s.Std[k]
	}
	return mean, std, len(s.Mean) > 0 || len(s.Std) > 0
}

// unpixel inverts pixel: the pixel value (rounded, clamped to 0..255)
// that gives v.
func (s *Spec) unpixel(v float32, k int) uint8 {
	x := float64(v)
	if mean, std, ok := s.norm(k); ok {
		x = x*std + mean
	}
	if s.Divide != 0 {
		x *= s.Divide
	} else if s.Scale != 1 && s.Scale != 0 {
		x /= s.Scale
	}
	return uint8(math.Round(math.Max(0, math.Min(255, x))))
}

// ToImage turns one input (x: the product of Shape() values, as Image
// writes them) back into the 8-bit image of ImageSize the declaration
// makes it from: padding dropped, mean/std and scale undone, rounded to
// 0..255 (an *image.Gray for color=gray, else an *image.NRGBA in the
// declaration's channel order undone). exact reports whether
// Sized().Image of that image gives x bit for bit, padding included:
// then sending the image instead of x loses nothing.
func (s *Spec) ToImage(x []float32) (img image.Image, exact bool, err error) {
	shape, err := s.Shape()
	if err != nil {
		return nil, false, err
	}
	if len(x) != nn.NumElements(shape) {
		return nil, false, fmt.Errorf("%w: %d values, the declaration %q gives %v", ErrShape, len(x), s, shape)
	}
	w, h, _ := s.ImageSize()
	c := s.Color.Channels()
	ow, oh := w+2*s.Pad, h+2*s.Pad
	at := func(k, y, x int) int {
		if s.Layout == "nhwc" {
			return (y*ow+x)*c + k
		}
		return k*oh*ow + y*ow + x
	}
	exact = true
	for k := 0; k < c; k++ {
		black := s.pixel(0, k)
		for y := 0; y < oh; y++ {
			for xx := 0; xx < ow; xx++ {
				if (xx < s.Pad || xx >= s.Pad+w || y < s.Pad || y >= s.Pad+h) && x[at(k, y, xx)] != black {
					exact = false
				}
			}
		}
	}
	// value returns channel k of image pixel (px, py) and notes whether
	// it is exact.
	value := func(k, px, py int) uint8 {
		v := x[at(k, py+s.Pad, px+s.Pad)]
		p := s.unpixel(v, k)
		if s.pixel(float32(p), k) != v {
			exact = false
		}
		return p
	}
	if s.Color == Gray {
		g := image.NewGray(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for xx := 0; xx < w; xx++ {
				g.Pix[y*g.Stride+xx] = value(0, xx, y)
			}
		}
		return g, exact, nil
	}
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	r, b := 0, 2
	if s.Color == BGR {
		r, b = 2, 0
	}
	for y := 0; y < h; y++ {
		for xx := 0; xx < w; xx++ {
			o := y*m.Stride + 4*xx
			m.Pix[o+0], m.Pix[o+1], m.Pix[o+2], m.Pix[o+3] = value(r, xx, y), value(1, xx, y), value(b, xx, y), 255
		}
	}
	return m, exact, nil
}
