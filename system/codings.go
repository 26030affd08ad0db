package system

import (
	"fmt"
	"time"

	"github.com/splitinfer/splitinfer/compress/actcode"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/partition"
	"github.com/splitinfer/splitinfer/partition/measure"
	"github.com/splitinfer/splitinfer/pipeline"
)

// PNGCoding names the input sent as an image (pipeline's image cut).
const PNGCoding = "png"

// WidthCoding names an activation codec of bits bits.
func WidthCoding(bits int) string { return fmt.Sprintf("%d bits", bits) }

// AddCodings gives the cost model every way the edge can send the cuts
// that have a compact coding (pipeline.CompactCuts): as computed (codec
// and wire as given), each activation codec width the model's tuning
// record keeps (actcode.Record), and the input as a PNG, so that
// partition.Model.Candidates chooses the cut and the coding together.
// Request bytes and encode times are measured by encoding the samples
// with the edge's own encoders; accuracies come from the tuning records
// (held-back training images; a lossless coding has the model's own, the
// records' uncoded accuracy, which becomes Model.Accuracy), and notes
// for the report in cm.Notes. A model without compact codings is left as
// it is.
func AddCodings(cm *measure.CostModel, prog *nn.Program, samples [][]*nn.Tensor, codec pipeline.Codec, wire nn.DType) error {
	notes, err := ModelCodings(cm.Model, prog, samples, codec, wire)
	cm.Notes = append(cm.Notes, notes...)
	return err
}

// ModelCodings is AddCodings on a partition.Model (an edge's, made by
// adaptive.BuildModel); it returns the notes.
func ModelCodings(m *partition.Model, prog *nn.Program, samples [][]*nn.Tensor, codec pipeline.Codec, wire nn.DType) ([]string, error) {
	plain, err := pipeline.NewRequestEncoder(prog, codec, wire, false)
	if err != nil {
		return nil, err
	}
	compact, err := pipeline.NewRequestEncoder(prog, codec, wire, true)
	if err != nil {
		return nil, err
	}
	cuts := compact.Compact.Cuts()
	if len(cuts) == 0 || len(samples) == 0 {
		return nil, nil
	}
	g := prog.Graph()
	m.Codings = map[string][]partition.Coding{}
	accuracy := -1.0
	var notes []string
	for _, cc := range cuts {
		c, err := m.DAG.CutAtTensor(cc.Tensor)
		if err != nil {
			return nil, err
		}
		rec, _, err := actcode.LookupRecord(g, cc.Tensor)
		if err != nil {
			return nil, err
		}
		if rec != nil && accuracy < 0 {
			accuracy = rec.Uncoded
			notes = append(notes, fmt.Sprintf("accuracy: the codecs' tuning records, %d held-back training images (uncoded %.4f)", rec.HeldImages, rec.Uncoded))
		}
		type way struct {
			coding partition.Coding
			enc    pipeline.RequestEncoder
		}
		ways := []way{{partition.Coding{Name: partition.AsComputed, Accuracy: -2}, plain}} // -2: lossless, filled in below
		if wire == nn.Uint8 || wire == nn.Int8 {
			ways[0].coding.Accuracy = -1 // quantized for the wire: not measured
		}
		if cc.Image {
			ways = append(ways, way{partition.Coding{Name: PNGCoding, Compact: true, Accuracy: -2}, compact})
		}
		for _, b := range cc.Widths {
			k := partition.Coding{Name: WidthCoding(b), Compact: true, Bits: b, Accuracy: -1}
			if rec != nil {
				for _, w := range rec.Widths {
					if w.Bits == b {
						k.Accuracy = w.Accuracy
					}
				}
			}
			e := compact
			e.Bits = b
			ways = append(ways, way{k, e})
		}
		head, err := prog.Slice(prog.Inputs(), []string{cc.Tensor})
		if err != nil {
			return nil, fmt.Errorf("system: codings at %s: %w", cc.Tensor, err)
		}
		r := head.NewRunner(1)
		bytes := make([]int, len(ways))
		times := make([][]float64, len(ways))
		elements := 0
		for _, in := range samples {
			out, err := r.Run(in...)
			if err != nil {
				return nil, fmt.Errorf("system: codings at %s: %w", cc.Tensor, err)
			}
			elements = out[0].Len()
			for i, w := range ways {
				for k := 0; k < 3; k++ {
					id := w.enc.NewID(cc.Tensor)
					t0 := time.Now()
					enc, err := w.enc.Encode(id, []string{cc.Tensor}, out, time.Now().Add(10*time.Second))
					times[i] = append(times[i], float64(time.Since(t0))/1e6)
					if err != nil {
						return nil, fmt.Errorf("system: coding %s at %s: %w", w.coding.Name, cc.Tensor, err)
					}
					if k == 0 {
						bytes[i] += len(enc.Body)
					}
				}
			}
		}
		for i, w := range ways {
			k := w.coding
			k.Bytes = (bytes[i] + len(samples) - 1) / len(samples)
			k.Elements = elements
			k.EncodeMS = partition.Median(times[i])
			k.DecodeMS = k.EncodeMS
			m.Codings[c.Name] = append(m.Codings[c.Name], k)
		}
	}
	m.Accuracy = max(accuracy, 0)
	for name, ks := range m.Codings {
		for i := range ks {
			if ks[i].Accuracy == -2 {
				ks[i].Accuracy = m.Accuracy
				if m.Accuracy == 0 {
					ks[i].Accuracy = -1
				}
			}
		}
		m.Codings[name] = ks
	}
	notes = append(notes, fmt.Sprintf("codings: as computed, the input as PNG and each activation codec width the model keeps, at %d cut(s), bytes and encode times from the samples", len(cuts)))
	return notes, nil
}
