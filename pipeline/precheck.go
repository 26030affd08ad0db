package pipeline

import (
	"encoding/binary"
	"fmt"
)

// Limits bounds what a decoder accepts before msgpack sees the bytes.
type Limits struct {
	// MaxMessageBytes caps the encoded message (default 16 MiB).
	MaxMessageBytes int
	// MaxDecodedBytes caps the total tensor data after decompression
	// (default 64 MiB).
	MaxDecodedBytes int
	// MaxDepth caps container nesting (default 6; the messages need 4).
	MaxDepth int
	// MaxContainerLen caps the element count of one array or map
	// (default 4096; tensor data travels as bin, not arrays).
	MaxContainerLen int
	// MaxTensors caps the tensors in one message (default 64).
	MaxTensors int
	// MaxRank caps a tensor's number of dimensions (default 8).
	MaxRank int
}

// DefaultLimits are the limits used when a field is zero.
var DefaultLimits = Limits{
	MaxMessageBytes: 16 << 20,
	MaxDecodedBytes: 64 << 20,
	MaxDepth:        6,
	MaxContainerLen: 4096,
	MaxTensors:      64,
	MaxRank:         8,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.MaxMessageBytes > 0 {
		d.MaxMessageBytes = l.MaxMessageBytes
	}
	if l.MaxDecodedBytes > 0 {
		d.MaxDecodedBytes = l.MaxDecodedBytes
	}
	if l.MaxDepth > 0 {
		d.MaxDepth = l.MaxDepth
	}
	if l.MaxContainerLen > 0 {
		d.MaxContainerLen = l.MaxContainerLen
	}
	if l.MaxTensors > 0 {
		d.MaxTensors = l.MaxTensors
	}
	if l.MaxRank > 0 {
		d.MaxRank = l.MaxRank
	}
	return d
}

// maxPrecheckDepth bounds the pre-check's own stack whatever the limits say.
const maxPrecheckDepth = 64

// Precheck walks one msgpack value in b without recursion and without
// allocating, and checks that every declared string, binary, extension,
// array and map length fits in the bytes that remain, that nesting stays
// within maxDepth, that no container declares more than maxLen elements,
// and that the value ends exactly at the end of b. Only bytes that pass can
// be given to msgpack, which otherwise allocates whatever a header declares
// (5 bytes dd ff ff ff ff ask for an array of 4G elements).
func Precheck(b []byte, maxDepth, maxLen int) error {
	if maxDepth <= 0 || maxDepth > maxPrecheckDepth {
		maxDepth = maxPrecheckDepth
	}
	var stack [maxPrecheckDepth + 1]int
	depth := 0
	stack[0] = 1 // one top-level value
	pos := 0
	for {
		for depth >= 0 && stack[depth] == 0 {
			depth--
		}
		if depth < 0 {
			break
		}
		stack[depth]--
		if pos >= len(b) {
			return fmt.Errorf("%w: msgpack truncated at byte %d", ErrBadRequest, pos)
		}
		c := b[pos]
		pos++
		rem := len(b) - pos
		var skip, children int
		switch {
		case c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3:
			// fixint, nil, bool
		case c >= 0x80 && c <= 0x8f:
			children = 2 * int(c&0x0f)
		case c >= 0x90 && c <= 0x9f:
			children = int(c & 0x0f)
		case c >= 0xa0 && c <= 0xbf:
			skip = int(c & 0x1f)
		default:
			var n, lenBytes int
			switch c {
			case 0xcc, 0xd0:
				skip = 1
			case 0xcd, 0xd1:
				skip = 2
			case 0xca, 0xce, 0xd2:
				skip = 4
			case 0xcb, 0xcf, 0xd3:
				skip = 8
			case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext: type byte + 1..16
				skip = 1 + 1<<(c-0xd4)
			case 0xc4, 0xc7, 0xd9: // bin8, ext8, str8
				lenBytes = 1
			case 0xc5, 0xc8, 0xda, 0xdc, 0xde: // 16-bit lengths
				lenBytes = 2
			case 0xc6, 0xc9, 0xdb, 0xdd, 0xdf: // 32-bit lengths
				lenBytes = 4
			default: // 0xc1 is never used
				return fmt.Errorf("%w: invalid msgpack byte %#x at %d", ErrBadRequest, c, pos-1)
			}
			if lenBytes > 0 {
				if rem < lenBytes {
					return fmt.Errorf("%w: msgpack length truncated at byte %d", ErrBadRequest, pos)
				}
				switch lenBytes {
				case 1:
					n = int(b[pos])
				case 2:
					n = int(binary.BigEndian.Uint16(b[pos:]))
				case 4:
					n = int(binary.BigEndian.Uint32(b[pos:]))
				}
				pos += lenBytes
				rem -= lenBytes
				switch c {
				case 0xdc, 0xdd:
					children = n
				case 0xde, 0xdf:
					if n > maxLen {
						return fmt.Errorf("%w: msgpack map of %d entries (limit %d)", ErrBadRequest, n, maxLen)
					}
					children = 2 * n
				case 0xc7, 0xc8, 0xc9:
					skip = 1 + n
				default:
					skip = n
				}
			}
		}
		if skip > rem {
			return fmt.Errorf("%w: msgpack value at byte %d declares %d bytes, %d remain", ErrBadRequest, pos-1, skip, rem)
		}
		pos += skip
		if children > 0 {
			if children > 2*maxLen || (c < 0x80 || c > 0x8f) && c != 0xde && c != 0xdf && children > maxLen {
				return fmt.Errorf("%w: msgpack container of %d elements (limit %d)", ErrBadRequest, children, maxLen)
			}
			// Every element takes at least one byte.
			if children > len(b)-pos {
				return fmt.Errorf("%w: msgpack container at byte %d declares %d elements, %d bytes remain", ErrBadRequest, pos-1, children, len(b)-pos)
			}
			if depth+1 > maxDepth {
				return fmt.Errorf("%w: msgpack nesting deeper than %d", ErrBadRequest, maxDepth)
			}
			depth++
			stack[depth] = children
		}
	}
	if pos != len(b) {
		return fmt.Errorf("%w: %d trailing bytes after the msgpack value", ErrBadRequest, len(b)-pos)
	}
	return nil
}
