//go:build amd64 && !purego

#include "textflag.h"

// func packA8AVX(panel, a *float32, lda, k8 int)
// packA8's full columns: for p < 8·k8 and rows r < 8, panel[8p + r] =
// a[r·lda + p] (lda in floats), eight columns of the eight rows a step,
// loaded as rows and turned by an 8x8 transpose (Y0-Y7 the rows, Y8-Y15
// the unpacked pairs, Y0-Y7 the quads, Y8-Y15 the columns).
TEXT ·packA8AVX(SB), NOSPLIT, $0-32
	MOVQ panel+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), BX
	MOVQ k8+24(FP), CX
	SHLQ $2, BX
	LEAQ (BX)(BX*2), DX
	LEAQ (SI)(BX*4), R8

loop:
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(BX*1), Y1
	VMOVUPS (SI)(BX*2), Y2
	VMOVUPS (SI)(DX*1), Y3
	VMOVUPS (R8), Y4
	VMOVUPS (R8)(BX*1), Y5
	VMOVUPS (R8)(BX*2), Y6
	VMOVUPS (R8)(DX*1), Y7
	VUNPCKLPS Y1, Y0, Y8
	VUNPCKHPS Y1, Y0, Y9
	VUNPCKLPS Y3, Y2, Y10
	VUNPCKHPS Y3, Y2, Y11
	VUNPCKLPS Y5, Y4, Y12
	VUNPCKHPS Y5, Y4, Y13
	VUNPCKLPS Y7, Y6, Y14
	VUNPCKHPS Y7, Y6, Y15
	VSHUFPS $0x44, Y10, Y8, Y0
	VSHUFPS $0xEE, Y10, Y8, Y1
	VSHUFPS $0x44, Y11, Y9, Y2
	VSHUFPS $0xEE, Y11, Y9, Y3
	VSHUFPS $0x44, Y14, Y12, Y4
	VSHUFPS $0xEE, Y14, Y12, Y5
	VSHUFPS $0x44, Y15, Y13, Y6
	VSHUFPS $0xEE, Y15, Y13, Y7
	VPERM2F128 $0x20, Y4, Y0, Y8
	VPERM2F128 $0x20, Y5, Y1, Y9
	VPERM2F128 $0x20, Y6, Y2, Y10
	VPERM2F128 $0x20, Y7, Y3, Y11
	VPERM2F128 $0x31, Y4, Y0, Y12
	VPERM2F128 $0x31, Y5, Y1, Y13
	VPERM2F128 $0x31, Y6, Y2, Y14
	VPERM2F128 $0x31, Y7, Y3, Y15
	VMOVUPS Y8, (DI)
	VMOVUPS Y9, 32(DI)
	VMOVUPS Y10, 64(DI)
	VMOVUPS Y11, 96(DI)
	VMOVUPS Y12, 128(DI)
	VMOVUPS Y13, 160(DI)
	VMOVUPS Y14, 192(DI)
	VMOVUPS Y15, 224(DI)
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $256, DI
	DECQ CX
	JNZ loop
	VZEROUPPER
	RET
