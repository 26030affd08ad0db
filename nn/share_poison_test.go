package nn

// The nn tests always run with shared outputs poisoned (share.go).
func init() { poisonShared = true }
