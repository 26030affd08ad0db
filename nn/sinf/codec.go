package sinf

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/splitinfer/splitinfer/nn"
)

const (
	encDense  = 0
	encBitmap = 1
	maxRank   = 16
)

type writer struct{ b bytes.Buffer }

func (w *writer) u8(v uint8) { w.b.WriteByte(v) }

func (w *writer) u64(v uint64) {
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], v)
	w.b.Write(buf[:])
}

func (w *writer) f32(v float32) {
	var buf [4]byte
	binary.LittleEndian.PutUint32(buf[:], math.Float32bits(v))
	w.b.Write(buf[:])
}

func (w *writer) str(s string) {
	w.u64(uint64(len(s)))
	w.b.WriteString(s)
}

func (w *writer) strs(ss []string) {
	w.u64(uint64(len(ss)))
	for _, s := range ss {
		w.str(s)
	}
}

func (w *writer) typ(t nn.Type) {
	w.u8(uint8(t.DType))
	w.u64(uint64(len(t.Shape)))
	for _, d := range t.Shape {
		w.u64(uint64(int64(d)))
	}
}

func (w *writer) values(vs []nn.ValueInfo) {
	w.u64(uint64(len(vs)))
	for _, v := range vs {
		w.str(v.Name)
		w.typ(v.Type)
	}
}

func (w *writer) tensor(t *nn.Tensor) error {
	if t == nil {
		return fmt.Errorf("%w: nil tensor", ErrFormat)
	}
	if t.DType.Size() == 0 || len(t.Shape) > maxRank || t.Len() != nn.NumElements(t.Shape) {
		return fmt.Errorf("%w: tensor %v with %d values", ErrFormat, t.Type(), t.Len())
	}
	w.typ(t.Type())
	if q := t.Quant; q != nil {
		w.u8(1)
		w.u64(uint64(int64(q.Axis)))
		w.u64(uint64(len(q.Scale)))
		for _, s := range q.Scale {
			w.f32(s)
		}
		w.u64(uint64(len(q.ZeroPoint)))
		for _, z := range q.ZeroPoint {
			w.u64(uint64(int64(z)))
		}
	} else {
		w.u8(0)
	}
	data := t.Bytes()
	es := t.DType.Size()
	n := t.Len()
	nnz := 0
	for i := 0; i < n; i++ {
		if !allZero(data[i*es : (i+1)*es]) {
			nnz++
		}
	}
	sparseBytes := (n+7)/8 + nnz*es + 8
	if n > 0 && float64(sparseBytes) < sparseGain*float64(len(data)) {
		w.u8(encBitmap)
		w.u64(uint64(nnz))
		bm := make([]byte, (n+7)/8)
		for i := 0; i < n; i++ {
			if !allZero(data[i*es : (i+1)*es]) {
				bm[i/8] |= 1 << (i % 8)
			}
		}
		w.b.Write(bm)
		for i := 0; i < n; i++ {
			if e := data[i*es : (i+1)*es]; !allZero(e) {
				w.b.Write(e)
			}
		}
		return nil
	}
	w.u8(encDense)
	w.u64(uint64(len(data)))
	w.b.Write(data)
	return nil
}

func allZero(b []byte) bool {
	for _, v := range b {
		if v != 0 {
			return false
		}
	}
	return true
}

func (w *writer) attr(a nn.Attr) error {
	w.u8(uint8(a.Kind))
	switch a.Kind {
	case nn.AttrInt:
		w.u64(uint64(a.Int))
	case nn.AttrFloat:
		w.f32(a.Float)
	case nn.AttrString:
		w.str(a.Str)
	case nn.AttrInts:
		w.u64(uint64(len(a.Ints)))
		for _, v := range a.Ints {
			w.u64(uint64(v))
		}
	case nn.AttrFloats:
		w.u64(uint64(len(a.Floats)))
		for _, v := range a.Floats {
			w.f32(v)
		}
	case nn.AttrStrings:
		w.strs(a.Strs)
	case nn.AttrTensor:
		return w.tensor(a.Tensor)
	default:
		return fmt.Errorf("%w: attribute kind %d", ErrFormat, a.Kind)
	}
	return nil
}

// reader decodes the payload. Every read checks the remaining length first,
// and every count is bounded by the bytes left, so a hostile file can make
// the reader allocate no more than a small multiple of its own size.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w at payload offset %d: %s", ErrFormat, r.off, fmt.Sprintf(format, args...))
	}
}

func (r *reader) left() int { return len(r.b) - r.off }

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > r.left() {
		r.fail("need %d bytes, %d left", n, r.left())
		return nil
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s
}

func (r *reader) u8() uint8 {
	s := r.take(1)
	if s == nil {
		return 0
	}
	return s[0]
}

func (r *reader) u64() uint64 {
	s := r.take(8)
	if s == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(s)
}

func (r *reader) f32() float32 {
	s := r.take(4)
	if s == nil {
		return 0
	}
	return math.Float32frombits(binary.LittleEndian.Uint32(s))
}

// count reads a count of items each taking at least min bytes.
func (r *reader) count(what string, min int) int {
	v := r.u64()
	if r.err != nil {
		return 0
	}
	if v > uint64(r.left()/min) {
		r.fail("%s count %d exceeds the %d bytes left", what, v, r.left())
		return 0
	}
	return int(v)
}

func (r *reader) str() string {
	n := r.count("string byte", 1)
	return string(r.take(n))
}

func (r *reader) strs() []string {
	n := r.count("string", 8)
	out := make([]string, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		out = append(out, r.str())
	}
	return out
}

func (r *reader) typ(allowDynamic bool) nn.Type {
	dt := nn.DType(r.u8())
	rank := r.count("dimension", 8)
	if r.err != nil {
		return nn.Type{}
	}
	if rank > maxRank {
		r.fail("rank %d exceeds %d", rank, maxRank)
		return nn.Type{}
	}
	t := nn.Type{DType: dt, Shape: make([]int, rank)}
	for i := range t.Shape {
		d := int64(r.u64())
		if d < 0 && !allowDynamic || d < -1<<31 || d > 1<<40 {
			r.fail("dimension %d of %d", i, d)
			return nn.Type{}
		}
		t.Shape[i] = int(d)
	}
	return t
}

func (r *reader) values() []nn.ValueInfo {
	n := r.count("value", 17)
	out := make([]nn.ValueInfo, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		name := r.str()
		out = append(out, nn.ValueInfo{Name: name, Type: r.typ(true)})
	}
	return out
}

func (r *reader) tensor() *nn.Tensor {
	ty := r.typ(false)
	if r.err != nil {
		return nil
	}
	es := ty.DType.Size()
	if es == 0 {
		r.fail("tensor dtype %d", ty.DType)
		return nil
	}
	n := nn.NumElements(ty.Shape)
	if n < 0 {
		r.fail("tensor shape %v", ty.Shape)
		return nil
	}
	var q *nn.Quant
	switch r.u8() {
	case 0:
	case 1:
		q = &nn.Quant{Axis: int(int64(r.u64()))}
		ns := r.count("scale", 4)
		q.Scale = make([]float32, ns)
		for i := range q.Scale {
			q.Scale[i] = r.f32()
		}
		nz := r.count("zero point", 8)
		q.ZeroPoint = make([]int32, nz)
		for i := range q.ZeroPoint {
			z := int64(r.u64())
			if z < math.MinInt32 || z > math.MaxInt32 {
				r.fail("zero point %d", z)
			}
			q.ZeroPoint[i] = int32(z)
		}
	default:
		r.fail("quantization flag")
	}
	enc := r.u8()
	if r.err != nil {
		return nil
	}
	var raw []byte
	switch enc {
	case encDense:
		nb := r.u64()
		if r.err == nil && nb != uint64(n)*uint64(es) {
			r.fail("%d data bytes for %v", nb, ty)
			return nil
		}
		raw = r.take(int(nb))
	case encBitmap:
		nnz := r.u64()
		if r.err == nil && nnz > uint64(n) {
			r.fail("%d non-zeros in %d elements", nnz, n)
			return nil
		}
		bm := r.take((n + 7) / 8)
		vals := r.take(int(nnz) * es)
		if r.err != nil {
			return nil
		}
		ones := 0
		for _, b := range bm {
			for ; b != 0; b &= b - 1 {
				ones++
			}
		}
		if ones != int(nnz) || (n%8 != 0 && len(bm) > 0 && bm[len(bm)-1]>>(n%8) != 0) {
			r.fail("sparse bitmap has %d bits set, %d values stored", ones, nnz)
			return nil
		}
		raw = make([]byte, n*es)
		j := 0
		for i := 0; i < n; i++ {
			if bm[i/8]&(1<<(i%8)) != 0 {
				copy(raw[i*es:(i+1)*es], vals[j*es:(j+1)*es])
				j++
			}
		}
	default:
		r.fail("tensor encoding %d", enc)
	}
	if r.err != nil {
		return nil
	}
	t, err := nn.FromBytes(ty.DType, ty.Shape, raw)
	if err != nil {
		r.fail("%v", err)
		return nil
	}
	t.Quant = q
	return t
}

func (r *reader) attr() nn.Attr {
	a := nn.Attr{Kind: nn.AttrKind(r.u8())}
	switch a.Kind {
	case nn.AttrInt:
		a.Int = int64(r.u64())
	case nn.AttrFloat:
		a.Float = r.f32()
	case nn.AttrString:
		a.Str = r.str()
	case nn.AttrInts:
		n := r.count("int", 8)
		a.Ints = make([]int64, n)
		for i := range a.Ints {
			a.Ints[i] = int64(r.u64())
		}
	case nn.AttrFloats:
		n := r.count("float", 4)
		a.Floats = make([]float32, n)
		for i := range a.Floats {
			a.Floats[i] = r.f32()
		}
	case nn.AttrStrings:
		a.Strs = r.strs()
	case nn.AttrTensor:
		a.Tensor = r.tensor()
	default:
		r.fail("attribute kind %d", a.Kind)
	}
	return a
}

func (r *reader) model() (*Model, error) {
	g := &nn.Graph{Consts: map[string]*nn.Tensor{}, Meta: map[string]string{}}
	g.Name = r.str()
	opset := int64(r.u64())
	if opset < 0 || opset > 1<<20 {
		r.fail("opset %d", opset)
	}
	g.Opset = int(opset)
	nm := r.count("metadata entry", 16)
	for i := 0; i < nm && r.err == nil; i++ {
		k := r.str()
		g.Meta[k] = r.str()
	}
	g.Inputs = r.values()
	g.Outputs = r.values()
	nc := r.count("constant", 8)
	for i := 0; i < nc && r.err == nil; i++ {
		name := r.str()
		t := r.tensor()
		if _, dup := g.Consts[name]; dup && r.err == nil {
			r.fail("constant %q repeated", name)
		}
		g.Consts[name] = t
	}
	nodes := r.count("node", 40)
	for i := 0; i < nodes && r.err == nil; i++ {
		n := &nn.Node{Name: r.str(), Op: r.str()}
		n.Inputs = r.strs()
		n.Outputs = r.strs()
		na := r.count("attribute", 9)
		if na > 0 {
			n.Attrs = make(map[string]nn.Attr, na)
		}
		for j := 0; j < na && r.err == nil; j++ {
			k := r.str()
			n.Attrs[k] = r.attr()
		}
		g.Nodes = append(g.Nodes, n)
	}
	m := &Model{Graph: g}
	switch r.u8() {
	case 0:
	case 1:
		c := &Calibration{Method: r.str(), Percentile: math.Float64frombits(r.u64())}
		s := int64(r.u64())
		if s < 0 || s > 1<<40 {
			r.fail("calibration sample count %d", s)
		}
		c.Samples = int(s)
		c.Source = r.str()
		nr := r.count("calibration range", 28)
		for i := 0; i < nr && r.err == nil; i++ {
			rg := Range{Tensor: r.str(), Min: r.f32(), Max: r.f32(), Scale: r.f32()}
			z := int64(r.u64())
			if z < math.MinInt32 || z > math.MaxInt32 {
				r.fail("zero point %d", z)
			}
			rg.ZeroPoint = int32(z)
			c.Ranges = append(c.Ranges, rg)
		}
		m.Calibration = c
	default:
		r.fail("calibration flag")
	}
	hash := r.str()
	if r.err != nil {
		return nil, r.err
	}
	if r.left() != 0 {
		return nil, fmt.Errorf("%w: %d unread bytes at the end of the payload", ErrFormat, r.left())
	}
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	if got := nn.Hash(g); got != hash {
		return nil, fmt.Errorf("%w: content hash %s, file says %s", ErrChecksum, got, hash)
	}
	return m, nil
}
