package nn

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"math"
	"sort"
)

// Hash returns the content hash of g: the hex SHA-256 of a canonical
// encoding of its inputs, outputs, nodes (in order, with their attributes
// sorted by name) and constants (sorted by name, with dtype, shape,
// quantization and data). The graph's Name, Meta and Opset are not part of
// the content: two graphs with the same hash compute the same function.
func Hash(g *Graph) string {
	idx := make([]int, len(g.Nodes))
	for i := range idx {
		idx[i] = i
	}
	return hashGraph(g, idx, true)
}

// HashNodes returns the content hash of the sub-graph made of the nodes of g
// at the given indices (in the order given) and the constants they read.
// Graph inputs and outputs are not included, so the hash of a head or tail
// depends only on what it computes.
func HashNodes(g *Graph, nodes []int) string {
	return hashGraph(g, nodes, false)
}

func hashGraph(g *Graph, nodes []int, io bool) string {
	h := &hasher{h: sha256.New()}
	h.str("splitinfer-graph-v1")
	if io {
		h.u64(uint64(len(g.Inputs)))
		for _, v := range g.Inputs {
			h.str(v.Name)
			h.typ(v.Type)
		}
		h.u64(uint64(len(g.Outputs)))
		for _, v := range g.Outputs {
			h.str(v.Name)
			h.typ(v.Type)
		}
	}
	used := map[string]bool{}
	h.u64(uint64(len(nodes)))
	for _, ni := range nodes {
		if ni < 0 || ni >= len(g.Nodes) {
			h.str("<bad node index>")
			continue
		}
		n := g.Nodes[ni]
		h.str(n.Name)
		h.str(n.Op)
		h.strs(n.Inputs)
		h.strs(n.Outputs)
		for _, in := range n.Inputs {
			if _, ok := g.Consts[in]; ok {
				used[in] = true
			}
		}
		keys := make([]string, 0, len(n.Attrs))
		for k := range n.Attrs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		h.u64(uint64(len(keys)))
		for _, k := range keys {
			h.str(k)
			h.attr(n.Attrs[k])
		}
	}
	names := make([]string, 0, len(g.Consts))
	for k := range g.Consts {
		if io || used[k] {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	h.u64(uint64(len(names)))
	for _, k := range names {
		h.str(k)
		h.tensor(g.Consts[k])
	}
	return hex.EncodeToString(h.h.Sum(nil))
}

type hasher struct {
	h   hash.Hash
	buf [8]byte
}

func (h *hasher) u64(v uint64) {
	binary.LittleEndian.PutUint64(h.buf[:], v)
	h.h.Write(h.buf[:])
}

func (h *hasher) str(s string) {
	h.u64(uint64(len(s)))
	h.h.Write([]byte(s))
}

func (h *hasher) strs(ss []string) {
	h.u64(uint64(len(ss)))
	for _, s := range ss {
		h.str(s)
	}
}

func (h *hasher) typ(t Type) {
	h.u64(uint64(t.DType))
	h.u64(uint64(len(t.Shape)))
	for _, d := range t.Shape {
		h.u64(uint64(int64(d)))
	}
}

func (h *hasher) attr(a Attr) {
	h.u64(uint64(a.Kind))
	switch a.Kind {
	case AttrInt:
		h.u64(uint64(a.Int))
	case AttrFloat:
		h.u64(uint64(math.Float32bits(a.Float)))
	case AttrString:
		h.str(a.Str)
	case AttrInts:
		h.u64(uint64(len(a.Ints)))
		for _, v := range a.Ints {
			h.u64(uint64(v))
		}
	case AttrFloats:
		h.u64(uint64(len(a.Floats)))
		for _, v := range a.Floats {
			h.u64(uint64(math.Float32bits(v)))
		}
	case AttrStrings:
		h.strs(a.Strs)
	case AttrTensor:
		h.tensor(a.Tensor)
	}
}

func (h *hasher) tensor(t *Tensor) {
	if t == nil {
		h.str("<nil>")
		return
	}
	h.typ(t.Type())
	if q := t.Quant; q != nil {
		h.u64(1)
		h.u64(uint64(int64(q.Axis)))
		h.u64(uint64(len(q.Scale)))
		for _, s := range q.Scale {
			h.u64(uint64(math.Float32bits(s)))
		}
		h.u64(uint64(len(q.ZeroPoint)))
		for _, z := range q.ZeroPoint {
			h.u64(uint64(int64(z)))
		}
	} else {
		h.u64(0)
	}
	b := t.Bytes()
	h.u64(uint64(len(b)))
	h.h.Write(b)
}
