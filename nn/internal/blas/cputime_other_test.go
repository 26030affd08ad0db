//go:build !linux

package blas

func threadCPUSeconds() float64 { return 0 }
