package nn

// SetChunkStages switches the growing chunk along the program (stagePlan)
// for runners planned afterwards (benchmarks compare).
func SetChunkStages(on bool) { chunkStages = on }

// SetChunkBytes sets the bound of a chunk's largest activation for runners
// planned afterwards and returns the one before.
func SetChunkBytes(b int) int {
	old := chunkBytes
	chunkBytes = b
	return old
}

// ChunkSizes returns the images per chunk of each stage r's batch runs in
// (nil: not chunked).
func ChunkSizes(r *Runner) []int {
	if !r.chunk.on {
		return nil
	}
	var s []int
	for _, st := range r.chunk.stages {
		s = append(s, st.c)
	}
	return s
}
