//go:build amd64 && !purego

#include "textflag.h"

// PIXELS adds to Z the pixels from AX (exclusive of end) step by step:
// each pixel's vector of 16 channels at byte offset off[p] from x.
#define PIXELS(end, step, Z, loop, done) \
loop:                              \
	CMPQ AX, end                   \
	JGE  done                      \
	MOVL (BX)(AX*4), R12           \
	VADDPS (SI)(R12*1), Z, Z       \
	ADDQ $step, AX                 \
	JMP  loop                      \
done:

// func gapNCHWcAVX512(y, x *float32, off *int32, n int, d *float32)
// y[:16] = the means over n pixels of an NCHW16c block (pixel p's 16
// channels at byte offset off[p] from x), each lane summed as sumAVX512
// sums a plane of n >= 16: pixel p below n64 = n&^63 into accumulator
// p mod 64, then below n16 = n&^15 into accumulator p mod 16, the rest
// into 16 + p mod 16; accumulators l, 16+l, 32+l, 48+l joined as its Z0
// += Z1, Z2 += Z3, Z0 += Z2 (into d[l], 16 lanes each, d: 256 floats of
// scratch), and the 16 of those by its tree (8 apart, 4, 2, 1).
TEXT ·gapNCHWcAVX512(SB), NOSPLIT, $0-40
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ off+16(FP), BX
	MOVQ n+24(FP), CX
	MOVQ d+32(FP), R8
	MOVQ CX, R9
	ANDQ $-64, R9
	MOVQ CX, R10
	ANDQ $-16, R10
	XORQ R11, R11

lane:
	VXORPS Z0, Z0, Z0
	MOVQ   R11, AX
	PIXELS(R9, 64, Z0, acc0, acc0done)
	LEAQ   (R9)(R11*1), AX
	PIXELS(R10, 16, Z0, acc0b, acc0bdone)
	VXORPS Z1, Z1, Z1
	LEAQ   16(R11), AX
	PIXELS(R9, 64, Z1, acc1, acc1done)
	LEAQ   (R10)(R11*1), AX
	CMPQ   AX, CX
	JGE    tail
	MOVL   (BX)(AX*4), R12
	VADDPS (SI)(R12*1), Z1, Z1

tail:
	VXORPS Z2, Z2, Z2
	LEAQ   32(R11), AX
	PIXELS(R9, 64, Z2, acc2, acc2done)
	VXORPS Z3, Z3, Z3
	LEAQ   48(R11), AX
	PIXELS(R9, 64, Z3, acc3, acc3done)
	VADDPS  Z1, Z0, Z0
	VADDPS  Z3, Z2, Z2
	VADDPS  Z2, Z0, Z0
	MOVQ    R11, AX
	SHLQ    $6, AX
	VMOVUPS Z0, (R8)(AX*1)
	INCQ    R11
	CMPQ    R11, $16
	JLT     lane

	// The tree over d[0..15].
	VMOVUPS 0(R8), Z0
	VMOVUPS 64(R8), Z1
	VMOVUPS 128(R8), Z2
	VMOVUPS 192(R8), Z3
	VMOVUPS 256(R8), Z4
	VMOVUPS 320(R8), Z5
	VMOVUPS 384(R8), Z6
	VMOVUPS 448(R8), Z7
	VADDPS  512(R8), Z0, Z0
	VADDPS  576(R8), Z1, Z1
	VADDPS  640(R8), Z2, Z2
	VADDPS  704(R8), Z3, Z3
	VADDPS  768(R8), Z4, Z4
	VADDPS  832(R8), Z5, Z5
	VADDPS  896(R8), Z6, Z6
	VADDPS  960(R8), Z7, Z7
	VADDPS  Z4, Z0, Z0
	VADDPS  Z5, Z1, Z1
	VADDPS  Z6, Z2, Z2
	VADDPS  Z7, Z3, Z3
	VADDPS  Z2, Z0, Z0
	VADDPS  Z3, Z1, Z1
	VADDPS  Z1, Z0, Z0

	VCVTSI2SSQ   CX, X4, X4
	VBROADCASTSS X4, Z4
	VDIVPS       Z4, Z0, Z0
	VMOVUPS      Z0, (DI)
	VZEROUPPER
	RET
