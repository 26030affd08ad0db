package actcode

// A binary range coder (LZMA's: 32-bit range, carry through a cached
// byte, 12-bit probabilities) with a termination tuned for messages of a
// few hundred bytes: the encoder drops the first byte (always 0), ends on
// the value of its final interval with the most trailing zero bits and
// trims trailing zero bytes; the decoder reads zeros past the end. That
// costs 0-2 bytes per message where a plain flush costs 5.

const (
	probBits = 12
	probOne  = 1 << probBits
	topValue = 1 << 24
)

type rangeEncoder struct {
	low       uint64
	rng       uint32
	cache     byte
	cacheSize int
	out       []byte
}

func (e *rangeEncoder) reset(out []byte) {
	*e = rangeEncoder{rng: 0xFFFFFFFF, cacheSize: 1, out: out[:0]}
}

// encode codes bit with p0 = P(bit == 0) in units of 1/4096 (1..4095).
func (e *rangeEncoder) encode(p0 uint32, bit bool) {
	bound := (e.rng >> probBits) * p0
	if !bit {
		e.rng = bound
	} else {
		e.low += uint64(bound)
		e.rng -= bound
	}
	for e.rng < topValue {
		e.rng <<= 8
		e.shiftLow()
	}
}

func (e *rangeEncoder) shiftLow() {
	if uint32(e.low) < 0xFF000000 || e.low>>32 != 0 {
		carry := byte(e.low >> 32)
		temp := e.cache
		for {
			e.out = append(e.out, temp+carry)
			temp = 0xFF
			e.cacheSize--
			if e.cacheSize == 0 {
				break
			}
		}
		e.cache = byte(e.low >> 24)
	}
	e.cacheSize++
	e.low = (e.low & 0x00FFFFFF) << 8
}

// finish ends the message and returns it.
func (e *rangeEncoder) finish() []byte {
	// Any value in [low, low+rng) decodes the same decisions: take the
	// one with the most trailing zeros, so trimming drops the most bytes.
	end := e.low + uint64(e.rng)
	for k := 32; k >= 0; k-- {
		mask := uint64(1)<<k - 1
		if v := (e.low + mask) &^ mask; v < end {
			e.low = v
			break
		}
	}
	for i := 0; i < 5; i++ {
		e.shiftLow()
	}
	out := e.out[1:] // the first byte is always 0
	for len(out) > 0 && out[len(out)-1] == 0 {
		out = out[:len(out)-1]
	}
	return out
}

// rangeDecoder decodes what rangeEncoder wrote. It never reads outside
// its input (bytes past the end read as 0), so any input decodes to some
// sequence of decisions in time bounded by the number of decisions asked.
type rangeDecoder struct {
	in   []byte
	pos  int
	code uint32
	rng  uint32
}

func (d *rangeDecoder) reset(in []byte) {
	*d = rangeDecoder{in: in, rng: 0xFFFFFFFF}
	for i := 0; i < 4; i++ {
		d.code = d.code<<8 | uint32(d.next())
	}
}

func (d *rangeDecoder) next() byte {
	if d.pos >= len(d.in) {
		d.pos++
		return 0
	}
	b := d.in[d.pos]
	d.pos++
	return b
}

func (d *rangeDecoder) decode(p0 uint32) bool {
	bound := (d.rng >> probBits) * p0
	var bit bool
	if d.code < bound {
		d.rng = bound
	} else {
		d.code -= bound
		d.rng -= bound
		bit = true
	}
	for d.rng < topValue {
		d.rng <<= 8
		d.code = d.code<<8 | uint32(d.next())
	}
	return bit
}
