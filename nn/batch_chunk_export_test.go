package nn

// SetChunkStages switches the growing chunk along the program (stagePlan)
// for runners planned afterwards (benchmarks compare).
func SetChunkStages(on bool) { chunkStages = on }
