//go:build !linux

package nn

func ThreadCPUSeconds() float64 { return 0 }

func ProcessCPUSeconds() float64 { return 0 }
