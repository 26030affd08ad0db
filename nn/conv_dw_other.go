//go:build !amd64 || purego

package nn

// dw3PlaneFast: no assembly kernel in this build.
func dw3PlaneFast(a *dw3Args) bool { return false }

// splitEvenOddFast: no assembly kernel in this build.
func splitEvenOddFast(x, e, o []float32) int { return 0 }

// tapPlaneFast: no assembly kernel in this build.
func tapPlaneFast(a *tapArgs, isMax bool) bool { return false }
