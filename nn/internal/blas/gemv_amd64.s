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

// func sgemv8AVX512(kb int, a *float32, b *float32, ldb int, out *[8]float32)
// sgemvPanelAVX2 for a full panel of 8 rows: two depths per 16-float
// vector (the panel's rows at p and p+1), b[p] and b[p+1] broadcast into
// its halves; eight depths per step into four accumulators.
TEXT ·sgemv8AVX512(SB), NOSPLIT, $0-40
	MOVQ kb+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ ldb+24(FP), R9
	MOVQ out+32(FP), DX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	LEAQ (R9)(R9*1), R10
loop8:
	CMPQ CX, $8
	JLT loop2
	VBROADCASTSS (DI), Y4
	VBROADCASTSS (DI)(R9*1), Y5
	VINSERTF32X8 $1, Y5, Z4, Z4
	ADDQ R10, DI
	VFMADD231PS (SI), Z4, Z0
	VBROADCASTSS (DI), Y6
	VBROADCASTSS (DI)(R9*1), Y7
	VINSERTF32X8 $1, Y7, Z6, Z6
	ADDQ R10, DI
	VFMADD231PS 64(SI), Z6, Z1
	VBROADCASTSS (DI), Y8
	VBROADCASTSS (DI)(R9*1), Y9
	VINSERTF32X8 $1, Y9, Z8, Z8
	ADDQ R10, DI
	VFMADD231PS 128(SI), Z8, Z2
	VBROADCASTSS (DI), Y10
	VBROADCASTSS (DI)(R9*1), Y11
	VINSERTF32X8 $1, Y11, Z10, Z10
	ADDQ R10, DI
	VFMADD231PS 192(SI), Z10, Z3
	ADDQ $256, SI
	SUBQ $8, CX
	JMP loop8
loop2:
	CMPQ CX, $2
	JLT loop1
	VBROADCASTSS (DI), Y4
	VBROADCASTSS (DI)(R9*1), Y5
	VINSERTF32X8 $1, Y5, Z4, Z4
	ADDQ R10, DI
	VFMADD231PS (SI), Z4, Z0
	ADDQ $64, SI
	SUBQ $2, CX
	JMP loop2
loop1:
	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z2, Z0, Z0
	VEXTRACTF32X8 $1, Z0, Y1
	VADDPS Y1, Y0, Y0
	TESTQ CX, CX
	JZ done8
	VBROADCASTSS (DI), Y4
	VFMADD231PS (SI), Y4, Y0
done8:
	VMOVUPS Y0, (DX)
	VZEROUPPER
	RET
