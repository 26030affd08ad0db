//go:build amd64 && !purego

#include "textflag.h"

// func sdot4AVX2(k16 int, x, y *float32, ldy int, out *[32]float32)
// Partial dot products of x with rows y, y+ldy, y+2ldy, y+3ldy over 16*k16
// elements: out[8r:8r+8] holds the lanes of row r (summed by the caller).
TEXT ·sdot4AVX2(SB), NOSPLIT, $0-40
	MOVQ k16+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DI
	MOVQ ldy+24(FP), R8
	SHLQ $2, R8
	LEAQ (R8)(R8*1), R9
	LEAQ (R9)(R8*1), R10
	MOVQ out+32(FP), DX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	TESTQ CX, CX
	JE done
loop:
	VMOVUPS (SI), Y8
	VMOVUPS 32(SI), Y9
	VFMADD231PS (DI), Y8, Y0
	VFMADD231PS 32(DI), Y9, Y1
	VFMADD231PS (DI)(R8*1), Y8, Y2
	VFMADD231PS 32(DI)(R8*1), Y9, Y3
	VFMADD231PS (DI)(R9*1), Y8, Y4
	VFMADD231PS 32(DI)(R9*1), Y9, Y5
	VFMADD231PS (DI)(R10*1), Y8, Y6
	VFMADD231PS 32(DI)(R10*1), Y9, Y7
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ loop
done:
	VADDPS Y1, Y0, Y0
	VMOVUPS Y0, 0(DX)
	VADDPS Y3, Y2, Y2
	VMOVUPS Y2, 32(DX)
	VADDPS Y5, Y4, Y4
	VMOVUPS Y4, 64(DX)
	VADDPS Y7, Y6, Y6
	VMOVUPS Y6, 96(DX)
	VZEROUPPER
	RET

// func dotS8x4VNNI(k64 int, x *byte, y *int8, ldy int, out *[64]int32)
// Dot products of x (int8 biased to u8 by +128) with the int8 rows y, y+ldy,
// y+2ldy, y+3ldy over 64*k64 bytes, bias removed: out[16r:16r+16] holds the
// lanes of row r (summed by the caller).
TEXT ·dotS8x4VNNI(SB), NOSPLIT, $0-40
	MOVQ k64+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DI
	MOVQ ldy+24(FP), R8
	LEAQ (R8)(R8*1), R9
	LEAQ (R9)(R8*1), R10
	MOVQ out+32(FP), DX
	MOVL $0x01010101, AX
	VPBROADCASTD AX, Z15
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	TESTQ CX, CX
	JE done
loop:
	VMOVDQU32 (SI), Z8
	VMOVDQU32 (DI), Z9
	VPDPBUSD Z9, Z8, Z0
	VPDPBUSD Z9, Z15, Z4
	VMOVDQU32 (DI)(R8*1), Z10
	VPDPBUSD Z10, Z8, Z1
	VPDPBUSD Z10, Z15, Z5
	VMOVDQU32 (DI)(R9*1), Z11
	VPDPBUSD Z11, Z8, Z2
	VPDPBUSD Z11, Z15, Z6
	VMOVDQU32 (DI)(R10*1), Z12
	VPDPBUSD Z12, Z8, Z3
	VPDPBUSD Z12, Z15, Z7
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ loop
done:
	VPSLLD $7, Z4, Z4
	VPSUBD Z4, Z0, Z0
	VMOVDQU32 Z0, 0(DX)
	VPSLLD $7, Z5, Z5
	VPSUBD Z5, Z1, Z1
	VMOVDQU32 Z1, 64(DX)
	VPSLLD $7, Z6, Z6
	VPSUBD Z6, Z2, Z2
	VMOVDQU32 Z2, 128(DX)
	VPSLLD $7, Z7, Z7
	VPSUBD Z7, Z3, Z3
	VMOVDQU32 Z3, 192(DX)
	VZEROUPPER
	RET
