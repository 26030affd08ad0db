package oip

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/nn"
)

// Datatypes of the protocol that map onto splitinfer's tensors (BYTES holds
// encoded images).
var datatypes = map[string]nn.DType{
	"FP32": nn.Float32, "INT8": nn.Int8, "UINT8": nn.Uint8, "INT32": nn.Int32, "INT64": nn.Int64,
}

// Datatype is the protocol's name of dt.
func Datatype(dt nn.DType) string {
	for k, v := range datatypes {
		if v == dt {
			return k
		}
	}
	return strings.ToUpper(dt.String())
}

// maxElements bounds a tensor's declared element count before anything is
// allocated for it.
const maxElements = 1 << 26

// wireInput is one input tensor as the protocol carries it, HTTP or gRPC.
// Exactly one of raw (little-endian values, or for BYTES 4-byte
// length-prefixed elements) and elems (BYTES elements) is set, or json
// (the JSON "data" value).
type wireInput struct {
	name, datatype string
	shape          []int64
	base64         bool // parameters.content_type == "base64": BYTES elements are base64
	raw            []byte
	elems          [][]byte
	json           json.RawMessage
	hasRaw         bool
}

func badInput(name, format string, args ...any) error {
	return &edgeworker.InputError{Input: name, Msg: fmt.Sprintf(format, args...)}
}

// want describes what the model's input takes, in the protocol's terms.
func want(vi nn.ValueInfo, images bool) string {
	s := fmt.Sprintf("%s %s", Datatype(vi.Type.DType), shapeString(vi.Type.Shape))
	if images {
		s += " (or BYTES [N] holding PNG/JPEG images)"
	}
	return s
}

func shapeString[T int | int64](s []T) string {
	p := make([]string, len(s))
	for i, d := range s {
		p[i] = strconv.FormatInt(int64(d), 10)
	}
	return "[" + strings.Join(p, ",") + "]"
}

// toInput checks a protocol tensor against the model's input and converts
// it: BYTES to images, numbers to a tensor.
func toInput(p *edgeworker.Predictor, in *wireInput) (edgeworker.Input, error) {
	info := p.Model()
	idx := p.InputIndex(in.name)
	if idx < 0 {
		var names []string
		for _, v := range info.Inputs {
			names = append(names, strconv.Quote(v.Name))
		}
		return edgeworker.Input{}, badInput(in.name, "unknown input (the model's inputs: %s)", strings.Join(names, ", "))
	}
	vi := info.Inputs[idx]
	images := info.Preprocess != nil && idx == 0
	n := int64(1)
	for _, d := range in.shape {
		if d < 0 || d > maxElements {
			return edgeworker.Input{}, badInput(in.name, "shape %s has a negative or huge dimension", shapeString(in.shape))
		}
		n *= d
		if n > maxElements {
			return edgeworker.Input{}, badInput(in.name, "shape %s has over %d elements", shapeString(in.shape), maxElements)
		}
	}
	if in.datatype == "BYTES" {
		if !images {
			return edgeworker.Input{}, badInput(in.name, "datatype BYTES, the model wants %s", want(vi, false))
		}
		if !(len(in.shape) == 1 || (len(in.shape) == 2 && in.shape[1] == 1)) {
			return edgeworker.Input{}, badInput(in.name, "BYTES shape %s: want [N] or [N,1], one encoded image per batch row", shapeString(in.shape))
		}
		elems, err := in.bytesElems(int(n))
		if err != nil {
			return edgeworker.Input{}, err
		}
		return edgeworker.Input{Name: in.name, Images: elems}, nil
	}
	dt, ok := datatypes[in.datatype]
	if !ok || (vi.Type.DType != nn.Undefined && dt != vi.Type.DType) {
		return edgeworker.Input{}, badInput(in.name, "datatype %s, the model wants %s", in.datatype, want(vi, images))
	}
	shape := make([]int, len(in.shape))
	for i, d := range in.shape {
		shape[i] = int(d)
	}
	size := int(n) * dt.Size()
	var data []byte
	switch {
	case in.hasRaw:
		if len(in.raw) != size {
			return edgeworker.Input{}, badInput(in.name, "%d bytes of data, shape %s of %s needs %d", len(in.raw), shapeString(in.shape), in.datatype, size)
		}
		data = in.raw
	case in.elems != nil:
		return edgeworker.Input{}, badInput(in.name, "datatype %s given byte elements", in.datatype)
	default:
		var err error
		if data, err = jsonNumbers(in.name, in.json, dt, int(n)); err != nil {
			return edgeworker.Input{}, err
		}
	}
	t, err := nn.FromBytes(dt, shape, data)
	if err != nil {
		return edgeworker.Input{}, badInput(in.name, "%v", err)
	}
	if err := edgeworker.CheckInput(vi, t, false); err != nil {
		return edgeworker.Input{}, badInput(in.name, "shape %s, the model wants %s", shapeString(in.shape), want(vi, images))
	}
	return edgeworker.Input{Name: in.name, Tensor: t}, nil
}

// bytesElems returns the n BYTES elements of the input.
func (in *wireInput) bytesElems(n int) ([][]byte, error) {
	var elems [][]byte
	switch {
	case in.hasRaw:
		for b := in.raw; len(b) > 0; {
			if len(b) < 4 {
				return nil, badInput(in.name, "binary BYTES data: truncated length prefix")
			}
			l := binary.LittleEndian.Uint32(b)
			if uint64(l) > uint64(len(b)-4) {
				return nil, badInput(in.name, "binary BYTES data: element of %d bytes, %d left", l, len(b)-4)
			}
			elems = append(elems, b[4:4+l])
			b = b[4+l:]
			if len(elems) > n {
				break
			}
		}
	case in.elems != nil:
		elems = in.elems
	default:
		var err error
		if elems, err = jsonStrings(in.name, in.json, n); err != nil {
			return nil, err
		}
	}
	if len(elems) != n {
		return nil, badInput(in.name, "%d BYTES elements, shape %s needs %d", len(elems), shapeString(in.shape), n)
	}
	if in.base64 {
		for i, e := range elems {
			d := make([]byte, base64.StdEncoding.DecodedLen(len(e)))
			k, err := base64.StdEncoding.Decode(d, e)
			if err != nil {
				return nil, badInput(in.name, "element %d: content_type base64 but %v", i, err)
			}
			elems[i] = d[:k]
		}
	}
	return elems, nil
}

// jsonTokens walks a JSON "data" value (flat or nested arrays) and calls f
// for each scalar; it stops with an error after more than n scalars.
func jsonTokens(name string, raw json.RawMessage, n int, f func(tok json.Token) error) (int, error) {
	if len(raw) == 0 {
		return 0, badInput(name, "no data")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	count := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return count, nil
		}
		if err != nil {
			return 0, badInput(name, "malformed data: %v", err)
		}
		if _, ok := tok.(json.Delim); ok {
			continue
		}
		if count++; count > n {
			return count, nil
		}
		if err := f(tok); err != nil {
			return 0, err
		}
	}
}

// jsonNumbers parses the numbers of a JSON "data" value (flat or nested
// arrays) into little-endian values of dt. It scans the bytes itself:
// encoding/json's tokenizer costs an allocation per element.
func jsonNumbers(name string, raw json.RawMessage, dt nn.DType, n int) ([]byte, error) {
	if len(raw) == 0 {
		return nil, badInput(name, "no data")
	}
	// Capacity from what the body holds (a number and a comma take at least
	// two bytes), not from what the shape declares.
	out := make([]byte, 0, min(n, len(raw)/2+1)*dt.Size())
	count, depth := 0, 0
	for i := 0; i < len(raw); {
		switch c := raw[i]; {
		case c == '[':
			depth++
			i++
		case c == ']':
			if depth--; depth < 0 {
				return nil, badInput(name, "malformed data: unbalanced ']'")
			}
			i++
		case c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '-' || (c >= '0' && c <= '9'):
			j := i + 1
			for j < len(raw) && (raw[j] == '.' || raw[j] == 'e' || raw[j] == 'E' || raw[j] == '+' || raw[j] == '-' || (raw[j] >= '0' && raw[j] <= '9')) {
				j++
			}
			if count++; count > n {
				return nil, badInput(name, "data has more than %d elements, the shape needs %d", n, n)
			}
			var err error
			if out, err = appendNumber(out, string(raw[i:j]), dt); err != nil {
				return nil, badInput(name, "%s", err)
			}
			i = j
		default:
			end := min(len(raw), i+20)
			return nil, badInput(name, "data holds %q, datatype %s wants numbers", raw[i:end], Datatype(dt))
		}
	}
	if depth != 0 {
		return nil, badInput(name, "malformed data: unbalanced '['")
	}
	if count != n {
		return nil, badInput(name, "data has %d elements, the shape needs %d", count, n)
	}
	return out, nil
}

// appendNumber appends num as a little-endian value of dt.
func appendNumber(out []byte, num string, dt nn.DType) ([]byte, error) {
	if dt == nn.Float32 {
		v, err := strconv.ParseFloat(num, 32)
		if err != nil {
			return nil, fmt.Errorf("%s is not an FP32", num)
		}
		return binary.LittleEndian.AppendUint32(out, math.Float32bits(float32(v))), nil
	}
	bits := 8 * dt.Size()
	var v int64
	var err error
	if dt == nn.Uint8 {
		var u uint64
		u, err = strconv.ParseUint(num, 10, 8)
		v = int64(u)
	} else {
		v, err = strconv.ParseInt(num, 10, bits)
	}
	if err != nil {
		return nil, fmt.Errorf("%s is not an %s", num, Datatype(dt))
	}
	switch bits {
	case 8:
		return append(out, byte(v)), nil
	case 32:
		return binary.LittleEndian.AppendUint32(out, uint32(v)), nil
	}
	return binary.LittleEndian.AppendUint64(out, uint64(v)), nil
}

func countString(count, n int) string {
	if count > n {
		return "more than " + strconv.Itoa(n)
	}
	return strconv.Itoa(count)
}

func jsonStrings(name string, raw json.RawMessage, n int) ([][]byte, error) {
	var out [][]byte
	count, err := jsonTokens(name, raw, n, func(tok json.Token) error {
		s, ok := tok.(string)
		if !ok {
			return badInput(name, "BYTES data holds %v, want strings", tok)
		}
		out = append(out, []byte(s))
		return nil
	})
	if err != nil {
		return nil, err
	}
	if count != n {
		return nil, badInput(name, "data has %s elements, the shape needs %d", countString(count, n), n)
	}
	return out, nil
}

// classStrings renders top-K classes as Triton's classification extension
// does: "score:index" or "score:index:label".
func classStrings(classes [][]edgeworker.Class) [][]byte {
	var out [][]byte
	for _, row := range classes {
		for _, c := range row {
			s := strconv.FormatFloat(float64(c.Score), 'f', 6, 32) + ":" + strconv.Itoa(c.Index)
			if c.Label != "" {
				s += ":" + c.Label
			}
			out = append(out, []byte(s))
		}
	}
	return out
}

// lengthPrefixed serialises BYTES elements as the binary extension does.
func lengthPrefixed(elems [][]byte) []byte {
	var b []byte
	for _, e := range elems {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(e)))
		b = append(b, e...)
	}
	return b
}
