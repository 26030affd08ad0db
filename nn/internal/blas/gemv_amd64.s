//go:build amd64 && !purego

#include "textflag.h"

// func sgemvPanelAVX2(kb int, a *float32, astride int, b *float32, ldb int, mask *[8]int32, out *[8]float32)
// out[r] = Σ_p a[p·astride + r]·b[p·ldb] for the rows r where mask is set
// (strides in bytes): one packed A panel times one column of B. Four
// accumulators hide the FMA latency.
TEXT ·sgemvPanelAVX2(SB), NOSPLIT, $0-56
	MOVQ kb+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ astride+16(FP), R8
	MOVQ b+24(FP), DI
	MOVQ ldb+32(FP), R9
	MOVQ mask+40(FP), AX
	VMOVDQU (AX), Y15
	MOVQ out+48(FP), DX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
loop4:
	CMPQ CX, $4
	JLT loop1
	VMASKMOVPS (SI), Y15, Y4
	VBROADCASTSS (DI), Y5
	VFMADD231PS Y4, Y5, Y0
	ADDQ R8, SI
	ADDQ R9, DI
	VMASKMOVPS (SI), Y15, Y6
	VBROADCASTSS (DI), Y7
	VFMADD231PS Y6, Y7, Y1
	ADDQ R8, SI
	ADDQ R9, DI
	VMASKMOVPS (SI), Y15, Y8
	VBROADCASTSS (DI), Y9
	VFMADD231PS Y8, Y9, Y2
	ADDQ R8, SI
	ADDQ R9, DI
	VMASKMOVPS (SI), Y15, Y10
	VBROADCASTSS (DI), Y11
	VFMADD231PS Y10, Y11, Y3
	ADDQ R8, SI
	ADDQ R9, DI
	SUBQ $4, CX
	JMP loop4
loop1:
	TESTQ CX, CX
	JZ done
	VMASKMOVPS (SI), Y15, Y4
	VBROADCASTSS (DI), Y5
	VFMADD231PS Y4, Y5, Y0
	ADDQ R8, SI
	ADDQ R9, DI
	DECQ CX
	JMP loop1
done:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VMOVUPS Y0, (DX)
	VZEROUPPER
	RET
