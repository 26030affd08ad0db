// Package onnxpb holds Go types generated from a wire-compatible subset of
// the ONNX protobuf schema (see onnx.proto). It is an implementation detail of
// package onnx; callers use onnx.Load and onnx.Save.
package onnxpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative onnx.proto
