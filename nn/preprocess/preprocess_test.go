package preprocess

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"

	"github.com/splitinfer/splitinfer/internal/oiptest"
	"github.com/splitinfer/splitinfer/nn"
)

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestParseRoundTrip(t *testing.T) {
	for _, s := range []string{MNIST, ImageNet, "color=bgr crop=10x12 interp=nearest scale=0.5 layout=nhwc"} {
		sp, err := Parse(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		again, err := Parse(sp.String())
		if err != nil || again.String() != sp.String() {
			t.Fatalf("%q -> %q -> %v, %v", s, sp.String(), again, err)
		}
	}
}

// TestParseNamed: the named declarations parse as their text.
func TestParseNamed(t *testing.T) {
	for name, decl := range map[string]string{"mnist": MNIST, "imagenet": ImageNet} {
		a, err := Parse(name)
		b, _ := Parse(decl)
		if err != nil || a.String() != b.String() {
			t.Errorf("%s: %v, %v; want %v", name, a, err, b)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, s := range []string{"color=cmyk resize=2x2", "resize=0", "pad=-1 crop=2", "bogus=1 crop=2", "mean=1,2 crop=2", "color=gray", "scale=1/0 crop=2", "std=0,1,1 crop=2", "crop"} {
		if _, err := Parse(s); !errors.Is(err, ErrSpec) {
			t.Errorf("Parse(%q) = %v, want ErrSpec", s, err)
		}
	}
}

// TestMNISTExact: a 28x28 grey PNG gives exactly the values the MNIST
// loader makes from the same pixels (padded to 32x32, /255).
func TestMNISTExact(t *testing.T) {
	sp, err := Parse(MNIST)
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewGray(image.Rect(0, 0, 28, 28))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	x, err := sp.Batch([][]byte{encodePNG(t, img), encodePNG(t, img)}, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := x.Type().String(); got != (nn.Type{DType: nn.Float32, Shape: []int{2, 1, 32, 32}}).String() {
		t.Fatalf("type %s", got)
	}
	for y := 0; y < 32; y++ {
		for xx := 0; xx < 32; xx++ {
			var want float32
			if y >= 2 && y < 30 && xx >= 2 && xx < 30 {
				want = float32(img.Pix[(y-2)*28+xx-2]) / 255
			}
			if got := x.F32[1024+y*32+xx]; got != want {
				t.Fatalf("(%d,%d) = %v, want %v", y, xx, got, want)
			}
		}
	}
	if err := sp.Check(nn.ValueInfo{Name: "input", Type: nn.Type{DType: nn.Float32, Shape: []int{-1, 1, 32, 32}}}); err != nil {
		t.Fatal(err)
	}
	if err := sp.Check(nn.ValueInfo{Name: "input", Type: nn.Type{DType: nn.Float32, Shape: []int{-1, 3, 224, 224}}}); !errors.Is(err, ErrShape) {
		t.Fatalf("Check = %v, want ErrShape", err)
	}
}

// TestImageNet: resize of the shorter side, centre crop, mean/std, RGB order
// and NHWC layout on a colour JPEG.
func TestImageNet(t *testing.T) {
	sp, err := Parse(ImageNet)
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 300, 400))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = 200, 100, 50, 255
	}
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, img, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	x, err := sp.Batch([][]byte{jb.Bytes()}, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{1, 3, 224, 224}; len(x.Shape) != 4 || x.Shape[1] != 3 || x.Shape[2] != 224 || x.Shape[3] != 224 {
		t.Fatalf("shape %v, want %v", x.Shape, want)
	}
	for c, v := range []float64{200, 100, 50} {
		want := (v/255 - sp.Mean[c]) / sp.Std[c]
		got := float64(x.F32[c*224*224+100*224+100])
		if d := got - want; d > 0.05 || d < -0.05 { // JPEG is lossy
			t.Errorf("channel %d = %v, want about %v", c, got, want)
		}
	}
	nhwc, _ := Parse("color=bgr crop=2x2 layout=nhwc")
	small := image.NewRGBA(image.Rect(0, 0, 2, 2))
	small.Set(0, 0, color.RGBA{10, 20, 30, 255})
	y, err := nhwc.Batch([][]byte{encodePNG(t, small)}, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if y.F32[0] != 30 || y.F32[1] != 20 || y.F32[2] != 10 || len(y.F32) != 12 {
		t.Fatalf("bgr nhwc %v", y.F32)
	}
}

func TestResizeBilinear(t *testing.T) {
	sp, _ := Parse("color=gray resize=4x1")
	img := image.NewGray(image.Rect(0, 0, 2, 1))
	img.Pix[0], img.Pix[1] = 0, 100
	x, err := sp.Batch([][]byte{encodePNG(t, img)}, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{0, 25, 75, 100} // half-pixel centres, edges clamped
	for i, v := range want {
		if x.F32[i] != v {
			t.Fatalf("resized %v, want %v", x.F32, want)
		}
	}
}

func TestDecodeRefuses(t *testing.T) {
	sp, _ := Parse(MNIST)
	if _, err := sp.Batch([][]byte{[]byte("hello, not an image")}, Limits{}); !errors.Is(err, ErrNotImage) {
		t.Fatalf("text: %v", err)
	}
	bomb := oiptest.BombPNG(t, 20000, 20000)
	if _, w, h, err := Header(bomb); err != nil || w != 20000 || h != 20000 {
		t.Fatalf("bomb header %dx%d %v", w, h, err)
	}
	_, err := sp.Batch([][]byte{bomb}, Limits{})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("bomb: %v", err)
	}
	res := testing.AllocsPerRun(1, func() { _, _ = Decode(bomb, Limits{}) })
	if res > 100 {
		t.Fatalf("refusing a bomb allocated %v times", res)
	}
	if _, err := Decode(oiptest.BombPNG(t, 64, 64), Limits{MaxPixels: 63 * 64}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over MaxPixels: %v", err)
	}
}

func TestGraphMeta(t *testing.T) {
	g := &nn.Graph{}
	sp, _ := Parse(MNIST)
	Record(g, sp, []string{"zero", "one"})
	got, labels, err := FromGraph(g)
	if err != nil || got.String() != sp.String() || len(labels) != 2 || labels[1] != "one" {
		t.Fatalf("FromGraph = %v, %v, %v", got, labels, err)
	}
}

func FuzzBatch(f *testing.F) {
	f.Add(encodePNG(f, image.NewGray(image.Rect(0, 0, 3, 5))))
	f.Add(oiptest.BombPNG(f, 1<<20, 1<<20))
	f.Add([]byte("\xff\xd8\xff"))
	sp, _ := Parse(MNIST)
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := sp.Batch([][]byte{b}, Limits{MaxPixels: 1 << 16})
		if err == nil && len(x.F32) != 1024 {
			t.Fatalf("%d values", len(x.F32))
		}
	})
}

// TestToImageRoundTrip: ToImage inverts the declaration on what it
// produced (exact), for grey and colour, nchw and nhwc, and says when a
// tensor is not an 8-bit image's.
func TestToImageRoundTrip(t *testing.T) {
	// images at the resize's size: resampling makes values between
	// pixel values, which no 8-bit image gives exactly
	for _, c := range []struct {
		decl string
		w, h int
	}{{MNIST, 28, 28}, {ImageNet, 256, 300}, {"color=bgr resize=7x5 pad=1 scale=0.5 layout=nhwc", 7, 5}, {"color=rgb crop=6x4 mean=1,2,3", 9, 9}} {
		decl := c.decl
		sp, err := Parse(decl)
		if err != nil {
			t.Fatal(err)
		}
		img := image.NewNRGBA(image.Rect(0, 0, c.w, c.h))
		for i := range img.Pix {
			img.Pix[i] = uint8(i*31 + i/7)
			if i%4 == 3 {
				img.Pix[i] = 255
			}
		}
		x, err := sp.Batch([][]byte{encodePNG(t, img)}, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		back, exact, err := sp.ToImage(x.F32)
		if err != nil || !exact {
			t.Fatalf("%q: ToImage: exact %v, %v", decl, exact, err)
		}
		w, h, _ := sp.ImageSize()
		if b := back.Bounds(); b.Dx() != w || b.Dy() != h {
			t.Fatalf("%q: image %v, want %dx%d", decl, b, w, h)
		}
		sized, err := sp.Sized()
		if err != nil {
			t.Fatal(err)
		}
		again, err := sized.Batch([][]byte{encodePNG(t, back)}, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range x.F32 {
			if again.F32[i] != v {
				t.Fatalf("%q: value %d: %v after the round trip, want %v", decl, i, again.F32[i], v)
			}
		}
		x.F32[len(x.F32)/2] += 1e-3
		if _, exact, _ := sp.ToImage(x.F32); exact {
			t.Fatalf("%q: a perturbed tensor is exact", decl)
		}
		if _, _, err := sp.ToImage(x.F32[1:]); !errors.Is(err, ErrShape) {
			t.Fatalf("%q: short input: %v, want ErrShape", decl, err)
		}
	}
	sp, _ := Parse("color=rgb resize=256")
	if _, _, err := sp.ToImage(nil); !errors.Is(err, ErrSpec) {
		t.Fatalf("resize=N without crop: %v, want ErrSpec", err)
	}
}
