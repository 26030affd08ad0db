//go:build amd64 && !purego

#include "textflag.h"
#include "simd_amd64.h"

// BINARGS loads the arguments (dst, a, b *float32, n int) of a binary
// kernel: DI, SI, DX, CX.
#define BINARGS MOVQ dst+0(FP), DI; MOVQ a+8(FP), SI; MOVQ b+16(FP), DX; MOVQ n+24(FP), CX

// SCALARARGS loads the arguments (dst, src *float32, n int, v float32) of a
// kernel with a scalar operand: DI, SI, CX, and v in every lane of Z30.
#define SCALARARGS MOVQ dst+0(FP), DI; MOVQ src+8(FP), SI; MOVQ n+16(FP), CX; VBROADCASTSS v+24(FP), Z30

// SIGV(x, r, n, p) computes r = 1/(1 + exp(-x)) with the constants of
// sigmoidAVX512 (Z20-Z31) and n, p as scratch, in 15 operations:
// x is clamped to [-88.5, 88.5] keeping NaN (exp(88.5) is finite, and
// beyond it the result is 1, or below 4e-39, to float32 precision); exp(-x) = 2^n·exp(-r) by Cody-Waite range reduction (n =
// round(-x·log2 e), r = x + n·ln 2 in two parts, |r| <= ln 2/2), a
// degree-6 polynomial for exp(-r) (Chebyshev fit, 2e-9 from exp; the odd
// coefficients negated) and VSCALEFPS by 2^n.
#define SIGV(x, r, n, p) \
	VMAXPS x, Z26, r; VMINPS r, Z27, r; \
	VMULPS Z30, r, n; VRNDSCALEPS $0, n, n; \
	VFMADD231PS Z29, n, r; VFMADD231PS Z28, n, r; \
	VMOVAPS Z20, p; \
	VFMADD213PS Z21, r, p; VFMADD213PS Z22, r, p; VFMADD213PS Z23, r, p; \
	VFMADD213PS Z24, r, p; VFMADD213PS Z25, r, p; VFMADD213PS Z31, r, p; \
	VSCALEFPS n, p, p; \
	VADDPS Z31, p, p; VDIVPS p, Z31, r

// SIGMOID16 is SIGV on Z0, the result in Z1.
#define SIGMOID16 SIGV(Z0, Z1, Z2, Z4)

#define STORE4 VMOVUPS Z0, 0(DI); VMOVUPS Z1, 64(DI); VMOVUPS Z2, 128(DI); VMOVUPS Z3, 192(DI)

#define CLAMP4 \
	VMAXPS 0(SI), Z30, Z0; VMAXPS 64(SI), Z30, Z1; VMAXPS 128(SI), Z30, Z2; VMAXPS 192(SI), Z30, Z3; \
	VMINPS Z0, Z31, Z0; VMINPS Z1, Z31, Z1; VMINPS Z2, Z31, Z2; VMINPS Z3, Z31, Z3; \
	STORE4
#define CLAMP1 VMAXPS 0(SI), Z30, Z0; VMINPS Z0, Z31, Z0; VMOVUPS Z0, 0(DI)
#define CLAMPM VMOVUPS.Z 0(SI), K1, Z0; VMAXPS Z0, Z30, Z0; VMINPS Z0, Z31, Z0; VMOVUPS Z0, K1, 0(DI)
#define CLAMPSTEP(n) ADDQ $n, SI; ADDQ $n, DI

// func clampAVX512(dst, src *float32, n int, lo, hi float32)
// dst[i] = min(max(src[i], lo), hi) for i < n, 64 values per step, then 16,
// then a masked tail. A NaN in src stays NaN (the maximum and minimum return
// their second source, src, when either is NaN).
TEXT ·clampAVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS lo+24(FP), Z30
	VBROADCASTSS hi+28(FP), Z31
	MAP(CLAMP4, CLAMP1, CLAMPM, CLAMPSTEP)

#define ADDRELU4 \
	VMOVUPS 0(SI), Z0; VMOVUPS 64(SI), Z1; VMOVUPS 128(SI), Z2; VMOVUPS 192(SI), Z3; \
	VADDPS 0(DX), Z0, Z0; VADDPS 64(DX), Z1, Z1; VADDPS 128(DX), Z2, Z2; VADDPS 192(DX), Z3, Z3; \
	VMAXPS Z0, Z30, Z0; VMAXPS Z1, Z30, Z1; VMAXPS Z2, Z30, Z2; VMAXPS Z3, Z30, Z3; \
	STORE4
#define ADDRELU1 VMOVUPS 0(SI), Z0; VADDPS 0(DX), Z0, Z0; VMAXPS Z0, Z30, Z0; VMOVUPS Z0, 0(DI)
#define ADDRELUM \
	VMOVUPS.Z 0(SI), K1, Z0; VMOVUPS.Z 0(DX), K1, Z1; VADDPS Z1, Z0, Z0; \
	VMAXPS Z0, Z30, Z0; VMOVUPS Z0, K1, 0(DI)
#define ADDRELUSTEP(n) ADDQ $n, SI; ADDQ $n, DX; ADDQ $n, DI

// func addReluAVX512(dst, a, b *float32, n int)
// dst[i] = relu(a[i] + b[i]) for i < n with the clamp of clampAVX512 (lo 0,
// hi +Inf, which the minimum leaves unchanged): a NaN sum stays NaN and a
// -0 sum stays -0, as the separate Add and Relu kernels give.
TEXT ·addReluAVX512(SB), NOSPLIT, $0-32
	BINARGS
	VPXORD Z30, Z30, Z30
	MAP(ADDRELU4, ADDRELU1, ADDRELUM, ADDRELUSTEP)

// func hardActAVX512(dst, src *float32, n int, alpha, beta float32, swish bool)
// dst[i] = t or src[i]·t (swish) with t = min(max(alpha·src[i] + beta, 0), 1)
// (multiply, then add: the rounding of the Go loop), 16 values per step and
// a masked tail. NaN stays NaN (the clamp returns its second source, t).
TEXT ·hardActAVX512(SB), NOSPLIT, $0-33
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS alpha+24(FP), Z28
	VBROADCASTSS beta+28(FP), Z29
	MOVBLZX swish+32(FP), DX
	VXORPS Z30, Z30, Z30
	MOVL $0x3f800000, AX
	VPBROADCASTD AX, Z31
hloop:
	CMPQ CX, $16
	JLT htail
	VMOVUPS 0(SI), Z0
	VMULPS Z0, Z28, Z1
	VADDPS Z1, Z29, Z1
	VMAXPS Z1, Z30, Z1
	VMINPS Z1, Z31, Z1
	TESTQ DX, DX
	JZ hstore
	VMULPS Z0, Z1, Z1
hstore:
	VMOVUPS Z1, 0(DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP hloop
htail:
	TESTQ CX, CX
	JE hdone
	LOWMASK(AX)
	KMOVW AX, K1
	VMOVUPS.Z 0(SI), K1, Z0
	VMULPS Z0, Z28, Z1
	VADDPS Z1, Z29, Z1
	VMAXPS Z1, Z30, Z1
	VMINPS Z1, Z31, Z1
	TESTQ DX, DX
	JZ htstore
	VMULPS Z0, Z1, Z1
htstore:
	VMOVUPS Z1, K1, 0(DI)
hdone:
	VZEROUPPER
	RET

// BIN4(OP), BIN1(OP), BINM(OP): dst = a OP b over 64, 16 or the masked
// tail of floats (OP a packed AVX-512 instruction; a at SI, b at DX).
#define BIN4(OP) \
	VMOVUPS 0(SI), Z0; VMOVUPS 64(SI), Z1; VMOVUPS 128(SI), Z2; VMOVUPS 192(SI), Z3; \
	OP 0(DX), Z0, Z0; OP 64(DX), Z1, Z1; OP 128(DX), Z2, Z2; OP 192(DX), Z3, Z3; \
	STORE4
#define BIN1(OP) VMOVUPS 0(SI), Z0; OP 0(DX), Z0, Z0; VMOVUPS Z0, 0(DI)
#define BINM(OP) VMOVUPS.Z 0(SI), K1, Z0; VMOVUPS.Z 0(DX), K1, Z1; OP Z1, Z0, Z0; VMOVUPS Z0, K1, 0(DI)
#define ADD4 BIN4(VADDPS)
#define ADD1 BIN1(VADDPS)
#define ADDM BINM(VADDPS)
#define MUL4 BIN4(VMULPS)
#define MUL1 BIN1(VMULPS)
#define MULM BINM(VMULPS)

// func addAVX512(dst, a, b *float32, n int)
// dst[i] = a[i] + b[i] for i < n.
TEXT ·addAVX512(SB), NOSPLIT, $0-32
	BINARGS
	MAP(ADD4, ADD1, ADDM, ADDRELUSTEP)

// func mulAVX512(dst, a, b *float32, n int)
// dst[i] = a[i] · b[i] for i < n.
TEXT ·mulAVX512(SB), NOSPLIT, $0-32
	BINARGS
	MAP(MUL4, MUL1, MULM, ADDRELUSTEP)

// SCALAR4(OP), SCALAR1(OP), SCALARM(OP): dst = src OP v (v in Z30).
#define SCALAR4(OP) \
	OP 0(SI), Z30, Z0; OP 64(SI), Z30, Z1; OP 128(SI), Z30, Z2; OP 192(SI), Z30, Z3; \
	STORE4
#define SCALAR1(OP) OP 0(SI), Z30, Z0; VMOVUPS Z0, 0(DI)
#define SCALARM(OP) VMOVUPS.Z 0(SI), K1, Z0; OP Z0, Z30, Z0; VMOVUPS Z0, K1, 0(DI)
#define ADDS4 SCALAR4(VADDPS)
#define ADDS1 SCALAR1(VADDPS)
#define ADDSM SCALARM(VADDPS)
#define MULS4 SCALAR4(VMULPS)
#define MULS1 SCALAR1(VMULPS)
#define MULSM SCALARM(VMULPS)

// func addScalarAVX512(dst, src *float32, n int, v float32)
// dst[i] = src[i] + v for i < n.
TEXT ·addScalarAVX512(SB), NOSPLIT, $0-28
	SCALARARGS
	MAP(ADDS4, ADDS1, ADDSM, CLAMPSTEP)

// func mulScalarAVX512(dst, src *float32, n int, v float32)
// dst[i] = src[i] · v for i < n (a squeeze-and-excitation channel scale).
TEXT ·mulScalarAVX512(SB), NOSPLIT, $0-28
	SCALARARGS
	MAP(MULS4, MULS1, MULSM, CLAMPSTEP)

// func sumAVX512(x *float32, n int) float32
// The sum of x[:n] in four 16-lane partial sums (64 values per step, then
// 16, then a masked tail), added together at the end: the order of a
// pairwise-blocked sum, not of a running one.
TEXT ·sumAVX512(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	CMPQ CX, $64
	JLT sum16
sum64:
	VADDPS 0(SI), Z0, Z0
	VADDPS 64(SI), Z1, Z1
	VADDPS 128(SI), Z2, Z2
	VADDPS 192(SI), Z3, Z3
	ADDQ $256, SI
	SUBQ $64, CX
	CMPQ CX, $64
	JGE sum64
sum16:
	CMPQ CX, $16
	JLT sumtail
	VADDPS 0(SI), Z0, Z0
	ADDQ $64, SI
	SUBQ $16, CX
	JMP sum16
sumtail:
	TESTQ CX, CX
	JE sumreduce
	LOWMASK(AX)
	KMOVW AX, K1
	VMOVUPS.Z 0(SI), K1, Z4
	VADDPS Z4, Z1, Z1
sumreduce:
	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z2, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVHLPS X0, X0, X1
	VADDPS X1, X0, X0
	VMOVSHDUP X0, X1
	VADDSS X1, X0, X0
	VZEROUPPER
	MOVSS X0, ret+16(FP)
	RET

// func sigmoidAVX512(dst, src *float32, n int, swish bool)
// dst[i] = s = 1/(1 + exp(-src[i])) for i < n (SIGMOID16), or src[i]·s
// (swish, SiLU: the product the separate Mul computes), 16 values per step
// and a masked tail; s is within a few ulp of the exact logistic.
TEXT ·sigmoidAVX512(SB), NOSPLIT, $0-25
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVBLZX swish+24(FP), DX
	MOVL $0x3f800000, AX // 1
	VPBROADCASTD AX, Z31
	MOVL $0xbfb8aa3b, AX // -log2(e)
	VPBROADCASTD AX, Z30
	MOVL $0x3f318000, AX // ln 2, high part
	VPBROADCASTD AX, Z29
	MOVL $0xb95e8083, AX // ln 2, low part
	VPBROADCASTD AX, Z28
	MOVL $0x42b10000, AX // 88.5
	VPBROADCASTD AX, Z27
	MOVL $0xc2b10000, AX // -88.5
	VPBROADCASTD AX, Z26
	MOVL $0x3ab6ba99, AX // exp(-r), degree 6 down to 1
	VPBROADCASTD AX, Z20
	MOVL $0xbc0937d3, AX
	VPBROADCASTD AX, Z21
	MOVL $0x3d2aaa56, AX
	VPBROADCASTD AX, Z22
	MOVL $0xbe2aaa02, AX
	VPBROADCASTD AX, Z23
	MOVL $0x3f000000, AX
	VPBROADCASTD AX, Z24
	MOVL $0xbf800000, AX
	VPBROADCASTD AX, Z25
	// 64 values a step: four independent logistics (the division's and
	// the polynomial's latency overlap).
sig64:
	CMPQ CX, $64
	JLT sigloop
	VMOVUPS 0(SI), Z0
	VMOVUPS 64(SI), Z5
	VMOVUPS 128(SI), Z8
	VMOVUPS 192(SI), Z11
	SIGV(Z0, Z1, Z2, Z4)
	SIGV(Z5, Z6, Z7, Z3)
	SIGV(Z8, Z9, Z10, Z12)
	SIGV(Z11, Z13, Z14, Z15)
	TESTQ DX, DX
	JZ sig64store
	VMULPS Z0, Z1, Z1
	VMULPS Z5, Z6, Z6
	VMULPS Z8, Z9, Z9
	VMULPS Z11, Z13, Z13
sig64store:
	VMOVUPS Z1, 0(DI)
	VMOVUPS Z6, 64(DI)
	VMOVUPS Z9, 128(DI)
	VMOVUPS Z13, 192(DI)
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $64, CX
	JMP sig64
sigloop:
	CMPQ CX, $16
	JLT sigtail
	VMOVUPS 0(SI), Z0
	SIGMOID16
	TESTQ DX, DX
	JZ sigstore
	VMULPS Z0, Z1, Z1
sigstore:
	VMOVUPS Z1, 0(DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP sigloop
sigtail:
	TESTQ CX, CX
	JE sigdone
	LOWMASK(AX)
	KMOVW AX, K1
	VMOVUPS.Z 0(SI), K1, Z0
	SIGMOID16
	TESTQ DX, DX
	JZ sigtstore
	VMULPS Z0, Z1, Z1
sigtstore:
	VMOVUPS Z1, K1, 0(DI)
sigdone:
	VZEROUPPER
	RET
