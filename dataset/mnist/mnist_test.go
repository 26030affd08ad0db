package mnist

import (
	"os"
	"testing"
)

func TestLoadTest(t *testing.T) {
	s, err := Test()
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 10000 || len(s.Images) != 10000*Pixels {
		t.Fatalf("got %d images, %d floats", s.Len(), len(s.Images))
	}
	// The first test image is a 7; padding rows and columns are zero.
	if s.Labels[0] != 7 {
		t.Errorf("label 0 = %d, want 7", s.Labels[0])
	}
	img := s.Image(0)
	var sum float32
	for r := 0; r < Rows; r++ {
		for c := 0; c < Cols; c++ {
			v := img[r*Cols+c]
			if (r < 2 || r >= 30 || c < 2 || c >= 30) && v != 0 {
				t.Fatalf("padding pixel (%d,%d) = %v", r, c, v)
			}
			if v < 0 || v > 1 {
				t.Fatalf("pixel (%d,%d) = %v out of [0,1]", r, c, v)
			}
			sum += v
		}
	}
	if sum == 0 {
		t.Error("image 0 is blank")
	}
}

func TestLoadTrain(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	dir, err := Locate(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Train(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 60000 {
		t.Fatalf("got %d training images", s.Len())
	}
}

func TestBadFile(t *testing.T) {
	if _, err := LoadFiles("testdata/none.gz", "testdata/none.gz"); err == nil {
		t.Fatal("missing file: no error")
	}
}

// TestGrayRoundTrip: the 28x28 image a test image came from, preprocessed
// again, gives exactly the same values.
func TestGrayRoundTrip(t *testing.T) {
	set, err := Test()
	if err != nil {
		t.Skip(err)
	}
	for _, i := range []int{0, 1, 9999} {
		got := Preprocess(set.Gray(i).Pix, 1)
		for k, v := range set.Image(i) {
			if got[k] != v {
				t.Fatalf("image %d value %d: %v, want %v", i, k, got[k], v)
			}
		}
		if b, err := set.PNG(i); err != nil || len(b) < 8 {
			t.Fatalf("PNG: %d bytes, %v", len(b), err)
		}
	}
}
