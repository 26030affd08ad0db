// Macros shared by the AVX-512 kernels of package nn (#include "simd_amd64.h").
//
// A kernel whose full vectors and masked row tail do the same work writes
// that work once, as a macro taking the load and store macros as parameters:
// LOADV/STOREV for full vectors, LOADVZ/STOREVK for the tail. Every form
// takes the mask register k; the unmasked ones ignore it.

// Loads of the vector at address a into z: all 16 lanes, or the lanes of k
// (the others zero, and no fault past the end).
#define LOADV(a, k, z) VMOVUPS a, z
#define LOADVZ(a, k, z) VMOVUPS.Z a, k, z

// Stores of z at address a: all 16 lanes, or the lanes of k.
#define STOREV(z, k, a) VMOVUPS z, a
#define STOREVK(z, k, a) VMOVUPS z, k, a

// LOWMASK sets r = 2^CX - 1: the mask of the first CX lanes.
#define LOWMASK(r) MOVQ $1, r; SHLQ CX, r; DECQ r

// UPTO16K sets k to the first min(DX, 16) lanes, DX > 0 (t scratch).
#define UPTO16K(k, t, full) \
	KXNORW k, k, k; \
	CMPQ DX, $16; \
	JGE full; \
	MOVQ $1, t; \
	SHLXQ DX, t, t; \
	DECQ t; \
	KMOVW t, k; \
full:

// Multiplies and FMAs with a memory source a, weight w, into z: all lanes, or
// only the lanes of k (the others zeroed by the multiply, kept by the FMA),
// so that a masked source is read only under k.
#define MULV(a, w, k, z) VMULPS a, w, z
#define MULVZ(a, w, k, z) VMULPS.Z a, w, k, z
#define FMAV(a, w, k, z) VFMADD231PS a, w, z
#define FMAVK(a, w, k, z) VFMADD231PS a, w, k, z

// BCAST9(base, off) broadcasts the nine floats at off(base) (a 3x3 kernel's
// weights) into Z0-Z8.
#define BCAST9(base, off) \
	VBROADCASTSS off+0(base), Z0; VBROADCASTSS off+4(base), Z1; VBROADCASTSS off+8(base), Z2; \
	VBROADCASTSS off+12(base), Z3; VBROADCASTSS off+16(base), Z4; VBROADCASTSS off+20(base), Z5; \
	VBROADCASTSS off+24(base), Z6; VBROADCASTSS off+28(base), Z7; VBROADCASTSS off+32(base), Z8

// TRANSPOSE16 transposes the 16x16 float matrix whose rows are Z0-Z15 in
// place (row i of the result in Zi), with Z16-Z31 as scratch: unpacks of
// row pairs (32 and 64 bits), then two rounds of 128-bit lane shuffles.
#define TRANSPOSE16 \
	/* 32-bit interleave of row pairs. */ \
	VUNPCKLPS Z1, Z0, Z16; VUNPCKHPS Z1, Z0, Z17; \
	VUNPCKLPS Z3, Z2, Z18; VUNPCKHPS Z3, Z2, Z19; \
	VUNPCKLPS Z5, Z4, Z20; VUNPCKHPS Z5, Z4, Z21; \
	VUNPCKLPS Z7, Z6, Z22; VUNPCKHPS Z7, Z6, Z23; \
	VUNPCKLPS Z9, Z8, Z24; VUNPCKHPS Z9, Z8, Z25; \
	VUNPCKLPS Z11, Z10, Z26; VUNPCKHPS Z11, Z10, Z27; \
	VUNPCKLPS Z13, Z12, Z28; VUNPCKHPS Z13, Z12, Z29; \
	VUNPCKLPS Z15, Z14, Z30; VUNPCKHPS Z15, Z14, Z31; \
	/* 64-bit interleave: each 128-bit lane holds a 4x4 block. */ \
	VUNPCKLPD Z18, Z16, Z0; VUNPCKHPD Z18, Z16, Z1; \
	VUNPCKLPD Z19, Z17, Z2; VUNPCKHPD Z19, Z17, Z3; \
	VUNPCKLPD Z22, Z20, Z4; VUNPCKHPD Z22, Z20, Z5; \
	VUNPCKLPD Z23, Z21, Z6; VUNPCKHPD Z23, Z21, Z7; \
	VUNPCKLPD Z26, Z24, Z8; VUNPCKHPD Z26, Z24, Z9; \
	VUNPCKLPD Z27, Z25, Z10; VUNPCKHPD Z27, Z25, Z11; \
	VUNPCKLPD Z30, Z28, Z12; VUNPCKHPD Z30, Z28, Z13; \
	VUNPCKLPD Z31, Z29, Z14; VUNPCKHPD Z31, Z29, Z15; \
	/* 128-bit lanes across rows 0-7 and 8-15. */ \
	VSHUFF32X4 $0x88, Z4, Z0, Z16; VSHUFF32X4 $0x88, Z5, Z1, Z17; \
	VSHUFF32X4 $0x88, Z6, Z2, Z18; VSHUFF32X4 $0x88, Z7, Z3, Z19; \
	VSHUFF32X4 $0xdd, Z4, Z0, Z20; VSHUFF32X4 $0xdd, Z5, Z1, Z21; \
	VSHUFF32X4 $0xdd, Z6, Z2, Z22; VSHUFF32X4 $0xdd, Z7, Z3, Z23; \
	VSHUFF32X4 $0x88, Z12, Z8, Z24; VSHUFF32X4 $0x88, Z13, Z9, Z25; \
	VSHUFF32X4 $0x88, Z14, Z10, Z26; VSHUFF32X4 $0x88, Z15, Z11, Z27; \
	VSHUFF32X4 $0xdd, Z12, Z8, Z28; VSHUFF32X4 $0xdd, Z13, Z9, Z29; \
	VSHUFF32X4 $0xdd, Z14, Z10, Z30; VSHUFF32X4 $0xdd, Z15, Z11, Z31; \
	VSHUFF32X4 $0x88, Z24, Z16, Z0; VSHUFF32X4 $0x88, Z25, Z17, Z1; \
	VSHUFF32X4 $0x88, Z26, Z18, Z2; VSHUFF32X4 $0x88, Z27, Z19, Z3; \
	VSHUFF32X4 $0x88, Z28, Z20, Z4; VSHUFF32X4 $0x88, Z29, Z21, Z5; \
	VSHUFF32X4 $0x88, Z30, Z22, Z6; VSHUFF32X4 $0x88, Z31, Z23, Z7; \
	VSHUFF32X4 $0xdd, Z24, Z16, Z8; VSHUFF32X4 $0xdd, Z25, Z17, Z9; \
	VSHUFF32X4 $0xdd, Z26, Z18, Z10; VSHUFF32X4 $0xdd, Z27, Z19, Z11; \
	VSHUFF32X4 $0xdd, Z28, Z20, Z12; VSHUFF32X4 $0xdd, Z29, Z21, Z13; \
	VSHUFF32X4 $0xdd, Z30, Z22, Z14; VSHUFF32X4 $0xdd, Z31, Z23, Z15

// MAP(BODY4, BODY1, BODYM, STEP) is the loop of an elementwise kernel over
// CX floats: BODY4 does 64 of them (Z0-Z3), BODY1 16 (Z0), BODYM the last
// CX < 16 under the mask K1; STEP(n) advances its pointers by n bytes.
#define MAP(BODY4, BODY1, BODYM, STEP) \
	CMPQ CX, $64; JLT tail16; \
loop64: \
	BODY4; \
	STEP(256); SUBQ $64, CX; CMPQ CX, $64; JGE loop64; \
tail16: \
	CMPQ CX, $16; JLT tail; \
	BODY1; \
	STEP(64); SUBQ $16, CX; JMP tail16; \
tail: \
	TESTQ CX, CX; JE done; \
	LOWMASK(AX); KMOVW AX, K1; \
	BODYM; \
done: \
	VZEROUPPER; \
	RET

// MAXNANK sets acc = max(acc, x), NaN where either is NaN (as MaxPool
// propagates it; VRANGEPS would drop a quiet NaN): VMAXPS keeps acc's NaN,
// the add masked by k (scratch) brings x's.
#define MAXNANK(x, acc, k) VCMPPS $3, x, acc, k; VMAXPS acc, x, acc; VADDPS x, acc, k, acc
