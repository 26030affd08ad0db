//go:build amd64 && !purego

#include "textflag.h"
#include "simd_amd64.h"
#include "pool_sep_amd64.h"

// The separable MaxPool's kernels (pool_sep.go), over sepRowsArgs at AX:
// dst 0, src 8, offs 16, rows 24, n 32, ldd 40, lds 48, k 56, d 64, s 72,
// planes 80, xps 88, special 96.
// K1 masks the last, partial block of 16 values of a row.
//
// The maxima are plain VMAXPS, which keep one operand's NaN and give
// either zero for ±0: maxRowsAVX512 gathers in K6 the lanes where a
// maximum may differ from Go's max, and sets special when there are any;
// then its caller computes the rows again in Go and hmaxAVX512 does not
// run on them (pool_sep.go). Those are the lanes whose maximum is NaN or
// -0 (a +0 is right: one of the values was +0), and the lanes of a NaN
// the maxima may drop: every value after the first (VMAXPS keeps acc's
// NaN).

// CLASSOR adds the NaN and -0 lanes of z to K6 (K5 scratch).
#define CLASSOR(z) VFPCLASSPSZ $0x85, z, K5; KORW K5, K6, K6

// BLOCKMASK sets K1 to the lanes of the block at BX of a row of CX values,
// or jumps to done past the row's end (DX, R11 scratch).
#define BLOCKMASK(full, done) \
	MOVQ CX, DX; \
	SUBQ BX, DX; \
	JLE done; \
	UPTO16K(K1, R11, full)

// func maxRowsAVX512(a *sepRowsArgs)
// For each plane q < planes and row r < rows: dst[(q·rows + r)·ldd + i] =
// max over j < k of src[q·xps + offs[r·k+j] + i], i < n.
TEXT ·maxRowsAVX512(SB), NOSPLIT, $0-8
	RARGS
	KXORW K6, K6, K6
	CMPQ R9, $3
	JEQ rows3
rplane:
	MOVQ 16(AX), R8
	MOVQ 24(AX), R14
rrow:
	XORQ BX, BX
rblock:
	BLOCKMASK(rfull, rnext)
	MOVQ (R8), R10
	LEAQ (SI)(R10*4), R10
	VMOVUPS.Z (R10)(BX*4), K1, Z0
	MOVQ $1, R12
rtaps:
	CMPQ R12, R9
	JGE rstore
	MOVQ (R8)(R12*8), R10
	LEAQ (SI)(R10*4), R10
	VMOVUPS.Z (R10)(BX*4), K1, Z1
	CLASSOR(Z1)
	VMAXPS Z0, Z1, Z0
	INCQ R12
	JMP rtaps
rstore:
	CLASSOR(Z0)
	VMOVUPS Z0, K1, (DI)(BX*4)
	ADDQ $16, BX
	JMP rblock
rnext:
	RNEXT(rrow, rplane)
	JMP rdone

// TAILMASK sets K4 to the lanes of a row's last, partial block of CX
// values (none when CX is a multiple of 16) and DX to the end of its whole
// blocks (R11 scratch).
#define TAILMASK \
	MOVQ CX, R11; \
	ANDQ $15, R11; \
	MOVQ $1, DX; \
	SHLXQ R11, DX, DX; \
	DECQ DX; \
	KMOVW DX, K4; \
	MOVQ CX, DX; \
	ANDQ $-16, DX

// MAX3ROWS sets Z0 to the maximum of the three rows at R10, R12 and R9 at
// the block BX, loaded with LD under k (simd_amd64.h).
#define MAX3ROWS(LD, k) \
	LD((R10)(BX*4), k, Z0); \
	LD((R12)(BX*4), k, Z1); \
	LD((R9)(BX*4), k, Z2); \
	VCMPPS $3, Z2, Z1, K5; \
	KORW K5, K6, K6; \
	VMAXPS Z0, Z1, Z0; \
	VMAXPS Z0, Z2, Z0; \
	CLASSOR(Z0)

// maxRowsAVX512 for windows of three rows (3x3 pools): the row pointers
// are set once per row, and the whole blocks run without masks.
rows3:
	TAILMASK
r3plane:
	MOVQ 16(AX), R8
	MOVQ 24(AX), R14
r3row:
	MOVQ (R8), R10
	LEAQ (SI)(R10*4), R10
	MOVQ 8(R8), R12
	LEAQ (SI)(R12*4), R12
	MOVQ 16(R8), R9
	LEAQ (SI)(R9*4), R9
	XORQ BX, BX
r3block:
	CMPQ BX, DX
	JGE r3tail
	MAX3ROWS(LOADV, K0)
	VMOVUPS Z0, (DI)(BX*4)
	ADDQ $16, BX
	JMP r3block
r3tail:
	CMPQ BX, CX
	JGE r3next
	MAX3ROWS(LOADVZ, K4)
	VMOVUPS Z0, K4, (DI)(BX*4)
r3next:
	ADDQ R15, DI
	ADDQ $24, R8
	DECQ R14
	JNZ r3row
	MOVQ 88(AX), R11
	LEAQ (SI)(R11*4), SI
	DECQ R13
	JNZ r3plane
rdone:
	KMOVW K6, DX
	MOVQ DX, 96(AX)
	VZEROUPPER
	RET

// TAPS1 and TAPS2 load a tap's 16 values at R12 into t (stride 2: the
// even lanes of 32, gathered by the indices in Z20).
#define TAPS1(t, u) VMOVUPS (R12), t
#define TAPS2(t, u) VMOVUPS (R12), t; VMOVUPS 64(R12), u; VPERMT2PS u, Z20, t

// HMAX is hmaxAVX512's loop for one stride: LOAD a tap, step the input
// bytes per block of 16 outputs.
#define HMAX(LOAD, step, row, block, full, next, taps, store) \
row: \
	XORQ BX, BX; \
	MOVQ SI, R10; \
block: \
	BLOCKMASK(full, next); \
	MOVQ R10, R12; \
	LOAD(Z0, Z1); \
	MOVQ $1, AX; \
taps: \
	CMPQ AX, R9; \
	JGE store; \
	ADDQ R8, R12; \
	LOAD(Z2, Z3); \
	VMAXPS Z0, Z2, Z0; \
	INCQ AX; \
	JMP taps; \
store: \
	VMOVUPS Z0, K1, (DI)(BX*4); \
	ADDQ $16, BX; \
	ADDQ $step, R10; \
	JMP block; \
next: \
	HNEXTROW(row)

// TAP3S1 and TAP3S2 set Z0 to the maximum of the three taps at R10,
// R10+R8 and R10+2·R8 (stride 2: the even lanes of 32 each).
#define TAP3S1 \
	VMOVUPS (R10), Z0; \
	VMOVUPS (R10)(R8*1), Z2; \
	VMOVUPS (R10)(R8*2), Z4; \
	VMAXPS Z0, Z2, Z0; \
	VMAXPS Z0, Z4, Z0
#define TAP3S2 \
	VMOVUPS (R10), Z0; \
	VMOVUPS 64(R10), Z1; \
	VPERMT2PS Z1, Z20, Z0; \
	VMOVUPS (R10)(R8*1), Z2; \
	VMOVUPS 64(R10)(R8*1), Z3; \
	VPERMT2PS Z3, Z20, Z2; \
	VMOVUPS (R10)(R8*2), Z4; \
	VMOVUPS 64(R10)(R8*2), Z5; \
	VPERMT2PS Z5, Z20, Z4; \
	VMAXPS Z0, Z2, Z0; \
	VMAXPS Z0, Z4, Z0

// HMAX3 is HMAX for three taps: TAP3 a block, whole blocks stored without
// a mask, the last under K4 (TAILMASK).
#define HMAX3(TAP3, step, row, block, tail, next) \
	TAILMASK; \
row: \
	XORQ BX, BX; \
	MOVQ SI, R10; \
block: \
	CMPQ BX, DX; \
	JGE tail; \
	TAP3; \
	VMOVUPS Z0, (DI)(BX*4); \
	ADDQ $16, BX; \
	ADDQ $step, R10; \
	JMP block; \
tail: \
	CMPQ BX, CX; \
	JGE next; \
	TAP3; \
	VMOVUPS Z0, K4, (DI)(BX*4); \
next: \
	HNEXTROW(row)

// func hmaxAVX512(a *sepRowsArgs)
// dst[r·ldd + o] = max over t < k of src[r·lds + s·o + t·d], o < n,
// r < rows, s 1 or 2; a row extends to the last value a block reads.
TEXT ·hmaxAVX512(SB), NOSPLIT, $0-8
	HARGS
	CMPQ 72(AX), $2
	JEQ stride2
	CMPQ R9, $3
	JEQ taps3s1
	HMAX(TAPS1, 64, h1row, h1block, h1full, h1next, h1taps, h1store)
taps3s1:
	HMAX3(TAP3S1, 64, h31row, h31block, h31tail, h31next)
stride2:
	VMOVUPS ·evenOddIdx(SB), Z20
	CMPQ R9, $3
	JEQ taps3s2
	HMAX(TAPS2, 128, h2row, h2block, h2full, h2next, h2taps, h2store)
taps3s2:
	HMAX3(TAP3S2, 128, h32row, h32block, h32tail, h32next)
