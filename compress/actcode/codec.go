// Package actcode codes the activations that cross a cut into a few
// hundred bytes: per-channel quantization to 1-8 bits with a dead zone
// (post-ReLU zeros stay exact zeros), then a binary range coder whose
// probabilities are static tables trained on calibration images for that
// cut, so a message carries no table and no adaptation warm-up.
//
// The context of each element's decisions is what the decoder has already
// seen: its left and upper neighbours and its upper-right neighbour in the
// same channel, and how many earlier channels are non-zero at the same
// position (whether the input has a stroke there). Elements are coded
// channel by channel, rows in order. A zero flag comes first; a non-zero
// magnitude is then coded in truncated unary ("above k?") and, for a
// channel that takes negative values, a sign.
//
// A Codec is fitted once per cut (Fit), stored with the model
// (MarshalBinary) and identified on the wire by its Fingerprint, so the
// edge and the cloud code with the same tables.
package actcode

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"

	"github.com/splitinfer/splitinfer/nn"
)

// Errors. Callers match them with errors.Is.
var (
	ErrFormat = errors.New("actcode: malformed codec")
	ErrShape  = errors.New("actcode: shape mismatch")
	ErrData   = errors.New("actcode: malformed message")
	ErrFit    = errors.New("actcode: cannot fit")
)

// Context sizes.
const (
	nbA  = 4 // left neighbour: 0, 1, >=2, none
	nbB  = 4 // upper neighbour
	nbE  = 3 // upper-right neighbour: zero, non-zero, none
	nbD  = 8 // earlier channels non-zero at the position, bucketed
	zctx = nbA * nbB * nbE * nbD
	nbK  = 4 // magnitude bin: above 1, 2, 3, 4 (unary; then the escape)
	nbM  = 5 // a neighbour's magnitude: 0..3, none
	// Magnitudes above nbK are coded as Exp-Golomb of m - nbK - 1: a
	// unary prefix of up to 8 bins with a context each, then its raw bits
	// (one context of their own); they follow the unary contexts.
	nbEsc = 9
	mctx  = nbK*nbM*nbM + nbEsc + 1
	sctx  = 3 // the left neighbour's sign: none/zero, +, -
	maxCh = 1 << 16
)

// MaxElements bounds a codec's tensor (4M elements).
const MaxElements = 1 << 22

// Codec quantizes and codes one tensor of a fixed shape: C channels of
// H x W planes (a rank-2 tensor is C channels of 1 x 1).
type Codec struct {
	C, H, W int
	// MaxLevel is the largest magnitude (2^bits - 1 for a channel of
	// non-negative values; signed channels use 2^(bits-1) - 1).
	Bits int
	// DeadZone is the threshold of magnitude 1, in steps (0.5 rounds).
	DeadZone float32
	// Step is each channel's quantization step; Signed marks channels
	// that take negative values.
	Step   []float32
	Signed []bool

	// Probability tables, as logits in 1/16 units (see prob), and the
	// same as 12-bit probabilities of a 0 decision.
	zero, mag, sign []int8
	// p holds the three tables' probabilities one after the other: a
	// decision's context indexes it (see walk).
	p []uint16
}

// magOff and signOff are where the magnitude and sign contexts start in
// the concatenated tables.
func (c *Codec) magOff() int  { return c.C * zctx }
func (c *Codec) signOff() int { return c.C * (zctx + mctx) }

// Elements is the number of values the codec codes.
func (c *Codec) Elements() int { return c.C * c.H * c.W }

// maxLevel is the largest magnitude of channel ch.
func (c *Codec) maxLevel(ch int) int {
	if c.Signed[ch] {
		return max(1<<(c.Bits-1)-1, 1)
	}
	return 1<<c.Bits - 1
}

// prob turns a stored logit (1/16 units) into P(0) in 1/4096 units.
func prob(l int8) uint16 {
	p := 1 / (1 + math.Exp(-float64(l)/16))
	return uint16(min(max(math.Round(p*probOne), 1), probOne-1))
}

// logit is prob's inverse, from counts of 0 and 1 decisions (KT prior).
func logit(n0, n1 float64) int8 {
	p := (n0 + 0.4) / (n0 + n1 + 0.8)
	return int8(min(max(math.Round(16*math.Log(p/(1-p))), -127), 127))
}

func (c *Codec) setProbs() {
	c.p = make([]uint16, 0, len(c.zero)+len(c.mag)+len(c.sign))
	for _, t := range [][]int8{c.zero, c.mag, c.sign} {
		for _, v := range t {
			c.p = append(c.p, prob(v))
		}
	}
}

func (c *Codec) checkLen(values []float32, levels []int16) error {
	if n := c.Elements(); len(values) != n || len(levels) != n {
		return fmt.Errorf("%w: %d values, %d levels for %dx%dx%d", ErrShape, len(values), len(levels), c.C, c.H, c.W)
	}
	return nil
}

// Quantize maps values (C*H*W, channel-major) to signed levels.
func (c *Codec) Quantize(values []float32, levels []int16) error {
	if err := c.checkLen(values, levels); err != nil {
		return err
	}
	hw := c.H * c.W
	for ch := 0; ch < c.C; ch++ {
		inv, top, signed := 1/c.Step[ch], float32(c.maxLevel(ch)), c.Signed[ch]
		lv := levels[ch*hw : (ch+1)*hw]
		for i, v := range values[ch*hw : (ch+1)*hw] {
			lv[i] = c.level(v, inv, top, signed)
		}
	}
	return nil
}

// level is value v's level in a channel of step 1/inv, largest magnitude
// top, signed or not.
func (c *Codec) level(v, inv, top float32, signed bool) int16 {
	neg := v < 0
	if neg {
		if !signed {
			return 0
		}
		v = -v
	}
	x := v * inv
	var l float32
	if x >= c.DeadZone { // NaN lands on 0
		// x + 0.5 is exact in float64: math.Round for x >= 0.
		l = min(max(float32(int64(float64(x)+0.5)), 1), top)
	}
	if neg {
		l = -l
	}
	return int16(l)
}

// Dequantize maps levels back to values: level x step.
func (c *Codec) Dequantize(levels []int16, values []float32) error {
	if err := c.checkLen(values, levels); err != nil {
		return err
	}
	hw := c.H * c.W
	for ch := 0; ch < c.C; ch++ {
		s := c.Step[ch]
		for i, l := range levels[ch*hw : (ch+1)*hw] {
			values[ch*hw+i] = float32(l) * s
		}
	}
	return nil
}

// dBucket buckets the count of earlier non-zero channels.
var dBucket = func() [256]uint8 {
	var b [256]uint8
	for n := range b {
		switch {
		case n <= 4:
			b[n] = uint8(n)
		case n <= 8:
			b[n] = 5
		case n <= 16:
			b[n] = 6
		default:
			b[n] = 7
		}
	}
	return b
}()

// catA and catM are a level's zero-flag and magnitude context categories
// (capped magnitudes); a neighbour outside the plane is nbA-1 and nbM-1.
func catA(l int16) uint8 {
	if l < 0 {
		l = -l
	}
	return uint8(min(l, 2))
}

func catM(l int16) uint8 {
	if l < 0 {
		l = -l
	}
	return uint8(min(l, 3))
}

// zeroTab maps the left, upper and upper-right neighbours' zero
// categories (nbA-1 for none) to their part of a zero-flag context.
var zeroTab = func() (t [nbA * nbA * nbA]uint16) {
	for a := 0; a < nbA; a++ {
		for b := 0; b < nbB; b++ {
			for e := 0; e < nbA; e++ {
				ec := min(e, 1) // zero, non-zero
				if e == nbA-1 {
					ec = 2 // none
				}
				t[(a*nbA+b)*nbA+e] = uint16(((a*nbB+b)*nbE + ec) * nbD)
			}
		}
	}
	return t
}()

// walker visits elements in coding order and computes their contexts
// from the levels seen so far; the encoder and the decoder share it. It
// keeps the current channel's categories in planes padded with a row
// above and a column either side that read as "none", so a context is a
// few loads with no bounds tests: element (y, x) is at (y+1)*pw + x+1.
type walker struct {
	c     *Codec
	count []uint8 // earlier non-zero channels per position (saturating)
	za    []uint8 // zero categories, padded
	zm    []uint8 // magnitude categories, padded
	pw    int
}

// walkScratch is a walker's reusable memory.
type walkScratch struct{ count, za, zm []uint8 }

func grow(b []uint8, n int) []uint8 {
	if cap(b) < n {
		return make([]uint8, n)
	}
	return b[:n]
}

func (w *walker) init(c *Codec, s *walkScratch) {
	hw, pw := c.H*c.W, c.W+2
	np := (c.H + 1) * pw
	s.count, s.za, s.zm = grow(s.count, hw), grow(s.za, np), grow(s.zm, np)
	*w = walker{c: c, count: s.count, za: s.za, zm: s.zm, pw: pw}
	clear(w.count)
	// Only the border is read before it is written (elements are
	// written in coding order before their right and lower neighbours
	// read them), so only the border needs its "none".
	for i := 0; i < pw; i++ {
		w.za[i], w.zm[i] = nbA-1, nbM-1
	}
	for y := 1; y <= c.H; y++ {
		w.za[y*pw], w.zm[y*pw] = nbA-1, nbM-1
		w.za[y*pw+pw-1], w.zm[y*pw+pw-1] = nbA-1, nbM-1
	}
}

// zeroCtx is the zero flag's context of the element at padded index p
// and plane index i of channel ch.
func (w *walker) zeroCtx(ch, p, i int) int {
	za, pw := w.za, w.pw
	return ch*zctx + int(zeroTab[(int(za[p-1])*nbA+int(za[p-pw]))*nbA+int(za[p-pw+1])]) + int(dBucket[w.count[i]])
}

// magCtx is the context of magnitude bin k (1-based: "above k?").
func (w *walker) magCtx(ch, p, k int) int {
	return ch*mctx + ((k-1)*nbM+int(w.zm[p-1]))*nbM + int(w.zm[p-w.pw])
}

// set records the level of the element at padded index p.
func (w *walker) set(p int, l int16) {
	w.za[p], w.zm[p] = catA(l), catM(l)
}

// escPrefix is the longest Exp-Golomb prefix a channel of largest
// magnitude top needs (its escapes code 1..top-nbK).
func escPrefix(top int) int { return max(bits.Len(uint(top-nbK))-1, 0) }

// endChannel counts channel lv's non-zero positions for the next ones.
func (w *walker) endChannel(lv []int16) {
	for i, l := range lv {
		if l != 0 && w.count[i] < 255 {
			w.count[i]++
		}
	}
}

// signCtx is the sign's context: the left neighbour's sign.
func (w *walker) signCtx(ch int, lv []int16, y, x int) int {
	s := 0
	if x > 0 {
		switch l := lv[y*w.c.W+x-1]; {
		case l > 0:
			s = 1
		case l < 0:
			s = 2
		}
	}
	return ch*sctx + s
}

// Encoder codes messages; it keeps its buffers between calls. Not safe
// for concurrent use.
type Encoder struct {
	c       *Codec
	levels  []int16
	scratch walkScratch
	re      rangeEncoder
	buf     []byte
	// EncodeTensor's table of each channel's levels by stored value, for
	// the tensors lutFor matches.
	lut    []int16
	lutFor quantKey
	vals   []float32
}

// NewEncoder returns an encoder for c.
func (c *Codec) NewEncoder() *Encoder {
	return &Encoder{c: c, levels: make([]int16, c.Elements())}
}

// Encode quantizes values and codes them. The message is valid until the
// next call.
func (e *Encoder) Encode(values []float32) ([]byte, error) {
	if err := e.c.Quantize(values, e.levels); err != nil {
		return nil, err
	}
	return e.EncodeLevels(e.levels)
}

// EncodeTensor codes t, a tensor of the codec's elements (channel-major):
// Encode of its real values (RealValues). An int8 or uint8 tensor whose
// quantization is per tensor or per channel has 256 values a channel, so
// the encoder maps them to levels through a table it keeps for t's
// parameters instead of computing each real value.
func (e *Encoder) EncodeTensor(t *nn.Tensor) ([]byte, error) {
	c := e.c
	if t == nil || t.Len() != c.Elements() {
		return nil, fmt.Errorf("%w: tensor of %d elements for %d", ErrShape, tensorLen(t), c.Elements())
	}
	if t.DType == nn.Float32 {
		return e.Encode(t.F32)
	}
	if !e.lutFor.matches(t) {
		if !e.buildTable(t) {
			if e.vals == nil {
				e.vals = make([]float32, c.Elements())
			}
			if err := RealValues(t, e.vals); err != nil {
				return nil, err
			}
			return e.Encode(e.vals)
		}
	}
	hw := c.H * c.W
	for ch := 0; ch < c.C; ch++ {
		lut := e.lut[ch*256 : (ch+1)*256]
		lv := e.levels[ch*hw : (ch+1)*hw]
		if t.DType == nn.Int8 {
			for i, v := range t.I8[ch*hw : (ch+1)*hw] {
				lv[i] = lut[uint8(v)]
			}
			continue
		}
		for i, v := range t.U8[ch*hw : (ch+1)*hw] {
			lv[i] = lut[v]
		}
	}
	return e.EncodeLevels(e.levels)
}

// buildTable fills the table of each channel's levels by stored value
// (indexed by the value's byte) for t when each channel has one scale and
// zero point in t, and reports whether it could.
func (e *Encoder) buildTable(t *nn.Tensor) bool {
	c := e.c
	scale, zp, ok := channelQuant(t, c.C, c.H*c.W)
	if !ok {
		e.lutFor = quantKey{}
		return false
	}
	e.lut = slices.Grow(e.lut[:0], c.C*256)[:c.C*256]
	for ch := 0; ch < c.C; ch++ {
		inv, top, signed := 1/c.Step[ch], float32(c.maxLevel(ch)), c.Signed[ch]
		for b := 0; b < 256; b++ {
			q := int32(b) // uint8
			if t.DType == nn.Int8 {
				q = int32(int8(b))
			}
			// As RealValues then Quantize compute it.
			e.lut[ch*256+b] = c.level(scale[ch]*float32(q-zp[ch]), inv, top, signed)
		}
	}
	e.lutFor.set(t)
	return true
}

// quantKey is the dtype and quantization a table was built for (a copy:
// tensors of one cut carry equal parameters, not the same pointer).
type quantKey struct {
	ok    bool
	dtype nn.DType
	axis  int
	scale []float32
	zp    []int32
}

func (k *quantKey) matches(t *nn.Tensor) bool {
	q := t.Quant
	return k.ok && q != nil && t.DType == k.dtype && q.Axis == k.axis &&
		slices.Equal(q.Scale, k.scale) && slices.Equal(q.ZeroPoint, k.zp)
}

func (k *quantKey) set(t *nn.Tensor) {
	q := t.Quant
	*k = quantKey{ok: true, dtype: t.DType, axis: q.Axis,
		scale: append(k.scale[:0], q.Scale...), zp: append(k.zp[:0], q.ZeroPoint...)}
}

// channelQuant returns each of c channels' scale and zero point in t (an
// int8 or uint8 tensor of c planes of hw elements), or false when t's
// quantization runs split a channel.
func channelQuant(t *nn.Tensor, c, hw int) ([]float32, []int32, bool) {
	scale, zp := make([]float32, c), make([]int32, c)
	aligned := true
	err := quantRuns(t, func(lo, hi int, s float32, z int32) {
		if lo%hw != 0 || hi%hw != 0 {
			aligned = false
			return
		}
		for ch := lo / hw; ch < hi/hw; ch++ {
			scale[ch], zp[ch] = s, z
		}
	})
	return scale, zp, err == nil && aligned
}

// EncodeLevels codes levels (as Quantize makes them).
func (e *Encoder) EncodeLevels(levels []int16) ([]byte, error) {
	c := e.c
	e.re.reset(e.buf)
	var err error
	if _, err = c.walk(levels, &e.scratch, nil, &e.re); err != nil {
		return nil, err
	}
	out := e.re.finish()
	e.buf = e.re.out[:0]
	return out, nil
}

// walk visits levels in coding order and codes each binary decision with
// re or, when re is nil, appends it to out as context<<1 | bit, the
// context indexing the concatenated tables (Fit counts them); the
// encoder and Fit share it. It returns out for reuse.
func (c *Codec) walk(levels []int16, scratch *walkScratch, out []uint32, re *rangeEncoder) ([]uint32, error) {
	if len(levels) != c.Elements() {
		return out, fmt.Errorf("%w: %d levels for %d elements", ErrShape, len(levels), c.Elements())
	}
	magOff, signOff := uint32(c.magOff()), uint32(c.signOff())
	probs := c.p
	emit := func(ctx uint32, bit bool) {
		if re != nil {
			re.encode(uint32(probs[ctx]), bit)
			return
		}
		d := ctx << 1
		if bit {
			d |= 1
		}
		out = append(out, d)
	}
	var w walker
	w.init(c, scratch)
	hw := c.H * c.W
	for ch := 0; ch < c.C; ch++ {
		lv := levels[ch*hw : (ch+1)*hw]
		top := c.maxLevel(ch)
		for y := 0; y < c.H; y++ {
			for x := 0; x < c.W; x++ {
				i, p := y*c.W+x, (y+1)*w.pw+x+1
				l := lv[i]
				m := int(l)
				if m < 0 {
					m = -m
				}
				if m > top || (l < 0 && !c.Signed[ch]) {
					return out, fmt.Errorf("%w: level %d out of range for channel %d", ErrData, l, ch)
				}
				emit(uint32(w.zeroCtx(ch, p, i)), m != 0)
				w.set(p, l)
				if m == 0 {
					continue
				}
				for k := 1; k < top && k <= nbK; k++ {
					emit(magOff+uint32(w.magCtx(ch, p, k)), m > k)
					if m <= k {
						break
					}
				}
				if m > nbK {
					esc := magOff + uint32(ch*mctx+nbK*nbM*nbM)
					v := m - nbK // 1..top-nbK
					n, maxN := bits.Len(uint(v))-1, escPrefix(top)
					for i := 0; i < n; i++ {
						emit(esc+uint32(i), true)
					}
					if n < maxN {
						emit(esc+uint32(n), false)
					}
					for i := n - 1; i >= 0; i-- {
						emit(esc+nbEsc, v>>i&1 != 0)
					}
				}
				if c.Signed[ch] {
					emit(signOff+uint32(w.signCtx(ch, lv, y, x)), l < 0)
				}
			}
		}
		w.endChannel(lv)
	}
	return out, nil
}

// Decoder decodes messages; it keeps its buffers between calls. Not safe
// for concurrent use.
type Decoder struct {
	c       *Codec
	levels  []int16
	scratch walkScratch
	rd      rangeDecoder
	// DecodeTensor's table of each channel's levels in a quantized
	// tensor's dtype, for the tensors lutFor matches.
	lut    []int16
	lutFor quantKey
	vals   []float32
}

// NewDecoder returns a decoder for c.
func (c *Codec) NewDecoder() *Decoder {
	return &Decoder{c: c, levels: make([]int16, c.Elements())}
}

// MaxMessage is the largest message a decoder accepts for c: twice what
// 8 bits per element would take, plus a margin.
func (c *Codec) MaxMessage() int { return 2*c.Elements() + 64 }

// Decode decodes msg into values (C*H*W). Its work is bounded by the
// codec's size whatever msg holds (bytes past its end read as zeros, as
// the encoder trims them); a message longer than MaxMessage is rejected.
func (d *Decoder) Decode(msg []byte, values []float32) error {
	if err := d.DecodeLevels(msg, d.levels); err != nil {
		return err
	}
	return d.c.Dequantize(d.levels, values)
}

// DecodeTensor decodes msg into t, a tensor of the codec's elements
// (channel-major): float32 gets the values Decode gives, int8 and uint8
// their quantization with t's own parameters, as SetRealValues makes it.
// A channel has few levels, so when t's quantization is per tensor or
// per channel the decoder maps levels through a table it keeps for t's
// parameters instead of quantizing each value.
func (d *Decoder) DecodeTensor(msg []byte, t *nn.Tensor) error {
	c := d.c
	if t == nil || t.Len() != c.Elements() {
		return fmt.Errorf("%w: tensor of %d elements for %d", ErrShape, tensorLen(t), c.Elements())
	}
	if err := d.DecodeLevels(msg, d.levels); err != nil {
		return err
	}
	if t.DType == nn.Float32 {
		return c.Dequantize(d.levels, t.F32)
	}
	if !d.lutFor.matches(t) {
		if !d.buildTable(t) {
			// Quantization runs that split channels: value by value.
			if d.vals == nil {
				d.vals = make([]float32, c.Elements())
			}
			if err := c.Dequantize(d.levels, d.vals); err != nil {
				return err
			}
			return SetRealValues(t, d.vals)
		}
	}
	hw, span := c.H*c.W, d.lutSpan()
	for ch := 0; ch < c.C; ch++ {
		lut := d.lut[ch*span : (ch+1)*span]
		mid := span / 2
		lv := d.levels[ch*hw : (ch+1)*hw]
		if t.DType == nn.Int8 {
			out := t.I8[ch*hw : (ch+1)*hw]
			for i, l := range lv {
				out[i] = int8(lut[mid+int(l)])
			}
			continue
		}
		out := t.U8[ch*hw : (ch+1)*hw]
		for i, l := range lv {
			out[i] = uint8(lut[mid+int(l)])
		}
	}
	return nil
}

// lutSpan is the table's entries per channel: levels -top..top.
func (d *Decoder) lutSpan() int { return 2*(1<<d.c.Bits-1) + 1 }

// buildTable fills the table for t (int8 or uint8) when each channel has
// one scale and zero point in t, and reports whether it could.
func (d *Decoder) buildTable(t *nn.Tensor) bool {
	c := d.c
	span := d.lutSpan()
	scale, zp, ok := channelQuant(t, c.C, c.H*c.W)
	if !ok {
		d.lutFor = quantKey{}
		return false
	}
	lo, hi := int32(-128), int32(127)
	if t.DType == nn.Uint8 {
		lo, hi = 0, 255
	}
	d.lut = slices.Grow(d.lut[:0], c.C*span)[:c.C*span]
	mid := span / 2
	for ch := 0; ch < c.C; ch++ {
		for l := -mid; l <= mid; l++ {
			// As Dequantize then SetRealValues compute it.
			v := float32(int16(l)) * c.Step[ch]
			d.lut[ch*span+mid+l] = int16(nn.QuantizeValue(v, scale[ch], zp[ch], lo, hi))
		}
	}
	d.lutFor.set(t)
	return true
}

func tensorLen(t *nn.Tensor) int {
	if t == nil {
		return 0
	}
	return t.Len()
}

// DecodeLevels decodes msg into levels.
func (d *Decoder) DecodeLevels(msg []byte, levels []int16) error {
	c := d.c
	if len(levels) != c.Elements() {
		return fmt.Errorf("%w: %d levels for %d elements", ErrShape, len(levels), c.Elements())
	}
	if len(msg) > c.MaxMessage() {
		return fmt.Errorf("%w: %d bytes (at most %d for %d elements)", ErrData, len(msg), c.MaxMessage(), c.Elements())
	}
	var w walker
	w.init(c, &d.scratch)
	d.rd.reset(msg)
	p, magOff, signOff := c.p, c.magOff(), c.signOff()
	hw := c.H * c.W
	for ch := 0; ch < c.C; ch++ {
		lv := levels[ch*hw : (ch+1)*hw]
		top := c.maxLevel(ch)
		for y := 0; y < c.H; y++ {
			for x := 0; x < c.W; x++ {
				i, pi := y*c.W+x, (y+1)*w.pw+x+1
				var m int
				if d.rd.decode(uint32(p[w.zeroCtx(ch, pi, i)])) {
					m = 1
					for m < top && m <= nbK && d.rd.decode(uint32(p[magOff+w.magCtx(ch, pi, m)])) {
						m++
					}
					if m > nbK {
						esc := magOff + ch*mctx + nbK*nbM*nbM
						n, maxN := 0, escPrefix(top)
						for n < maxN && d.rd.decode(uint32(p[esc+n])) {
							n++
						}
						v := 1
						for i := 0; i < n; i++ {
							v <<= 1
							if d.rd.decode(uint32(p[esc+nbEsc])) {
								v |= 1
							}
						}
						m = min(nbK+v, top) // garbage may code past top
					}
					// The sign's context reads only the left neighbour.
					if c.Signed[ch] && d.rd.decode(uint32(p[signOff+w.signCtx(ch, lv, y, x)])) {
						m = -m
					}
				}
				lv[i] = int16(m)
				w.set(pi, lv[i])
			}
		}
		w.endChannel(lv)
	}
	return nil
}

// Fingerprint identifies the codec: the first 4 bytes of the SHA-256 of
// its binary form. Requests carry it so a worker with other tables
// rejects them instead of decoding garbage.
func (c *Codec) Fingerprint() uint32 {
	b, _ := c.MarshalBinary()
	h := sha256.Sum256(b)
	return binary.BigEndian.Uint32(h[:4])
}

const magic = "SIAC"

// formatVersion is the binary form's version.
const formatVersion = 2

// MarshalBinary writes the codec: magic, version, shape, bits, dead zone,
// steps, signed flags and the three tables.
func (c *Codec) MarshalBinary() ([]byte, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	b := make([]byte, 0, 32+5*c.C+len(c.zero)+len(c.mag)+len(c.sign))
	b = append(b, magic...)
	b = append(b, formatVersion, byte(c.Bits))
	b = binary.LittleEndian.AppendUint32(b, uint32(c.C))
	b = binary.LittleEndian.AppendUint32(b, uint32(c.H))
	b = binary.LittleEndian.AppendUint32(b, uint32(c.W))
	b = binary.LittleEndian.AppendUint32(b, math.Float32bits(c.DeadZone))
	for _, s := range c.Step {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(s))
	}
	for _, s := range c.Signed {
		if s {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	}
	for _, t := range [][]int8{c.zero, c.mag, c.sign} {
		for _, v := range t {
			b = append(b, byte(v))
		}
	}
	return b, nil
}

// Unmarshal reads a codec that MarshalBinary wrote, checking every field
// and the exact length before allocating anything the length implies.
func Unmarshal(b []byte) (*Codec, error) {
	const head = 4 + 2 + 16
	if len(b) < head || string(b[:4]) != magic {
		return nil, fmt.Errorf("%w: bad magic or truncated header", ErrFormat)
	}
	if b[4] != formatVersion {
		return nil, fmt.Errorf("%w: version %d (want %d)", ErrFormat, b[4], formatVersion)
	}
	c := &Codec{Bits: int(b[5])}
	u := func(i int) uint64 { return uint64(binary.LittleEndian.Uint32(b[6+4*i:])) }
	C, H, W := u(0), u(1), u(2)
	c.DeadZone = math.Float32frombits(uint32(u(3)))
	if C == 0 || H == 0 || W == 0 || C > maxCh || C*H*W > MaxElements {
		return nil, fmt.Errorf("%w: shape %dx%dx%d", ErrFormat, C, H, W)
	}
	c.C, c.H, c.W = int(C), int(H), int(W)
	want := head + 5*c.C + c.C*(zctx+mctx+sctx)
	if len(b) != want {
		return nil, fmt.Errorf("%w: %d bytes, want %d for %d channels", ErrFormat, len(b), want, c.C)
	}
	p := head
	c.Step = make([]float32, c.C)
	for i := range c.Step {
		c.Step[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[p:]))
		p += 4
	}
	c.Signed = make([]bool, c.C)
	for i := range c.Signed {
		if b[p] > 1 {
			return nil, fmt.Errorf("%w: signed flag %d", ErrFormat, b[p])
		}
		c.Signed[i] = b[p] == 1
		p++
	}
	read := func(n int) []int8 {
		t := make([]int8, n)
		for i := range t {
			t[i] = int8(b[p+i])
		}
		p += n
		return t
	}
	c.zero, c.mag, c.sign = read(c.C*zctx), read(c.C*mctx), read(c.C*sctx)
	if err := c.validate(); err != nil {
		return nil, err
	}
	c.setProbs()
	return c, nil
}

func (c *Codec) validate() error {
	switch {
	case c.Bits < 1 || c.Bits > 8:
		return fmt.Errorf("%w: %d bits (want 1..8)", ErrFormat, c.Bits)
	case c.C < 1 || c.H < 1 || c.W < 1 || c.C > maxCh || c.C*c.H*c.W > MaxElements:
		return fmt.Errorf("%w: shape %dx%dx%d", ErrFormat, c.C, c.H, c.W)
	case !(c.DeadZone >= 0 && c.DeadZone <= 4):
		return fmt.Errorf("%w: dead zone %v (want 0..4)", ErrFormat, c.DeadZone)
	case len(c.Step) != c.C || len(c.Signed) != c.C:
		return fmt.Errorf("%w: %d steps, %d signed flags for %d channels", ErrFormat, len(c.Step), len(c.Signed), c.C)
	case len(c.zero) != c.C*zctx || len(c.mag) != c.C*mctx || len(c.sign) != c.C*sctx:
		return fmt.Errorf("%w: table sizes", ErrFormat)
	}
	for i, s := range c.Step {
		if !(s > 0) || math.IsInf(float64(s), 0) {
			return fmt.Errorf("%w: channel %d step %v", ErrFormat, i, s)
		}
		if c.Signed[i] && c.Bits < 2 {
			return fmt.Errorf("%w: signed channel %d with 1 bit", ErrFormat, i)
		}
	}
	return nil
}
