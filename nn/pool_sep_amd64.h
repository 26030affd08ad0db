// Macros shared by the separable MaxPool's AVX-512 and AVX2 kernels
// (pool_sep_amd64.s, pool_sep_avx2_amd64.s).

// HNEXTROW moves hmax's output (DI, R15 bytes a row) and input (SI, R13)
// one row on, back to row while rows are left (R14).
#define HNEXTROW(row) \
	ADDQ R15, DI; \
	ADDQ R13, SI; \
	DECQ R14; \
	JNZ row; \
	VZEROUPPER; \
	RET

// HARGS loads hmax's sepRowsArgs at a+0(FP) into AX: dst DI, src SI,
// rows R14, n CX, ldd R15 and lds R13 (bytes), k R9, d R8 (bytes).
#define HARGS \
	MOVQ a+0(FP), AX; \
	MOVQ 0(AX), DI; \
	MOVQ 8(AX), SI; \
	MOVQ 24(AX), R14; \
	MOVQ 32(AX), CX; \
	MOVQ 40(AX), R15; \
	SHLQ $2, R15; \
	MOVQ 48(AX), R13; \
	SHLQ $2, R13; \
	MOVQ 56(AX), R9; \
	MOVQ 64(AX), R8; \
	SHLQ $2, R8

// RARGS loads maxRows' sepRowsArgs at a+0(FP) into AX: dst DI, src SI,
// n CX, ldd R15 (bytes), k R9, planes R13.
#define RARGS \
	MOVQ a+0(FP), AX; \
	MOVQ 0(AX), DI; \
	MOVQ 8(AX), SI; \
	MOVQ 32(AX), CX; \
	MOVQ 40(AX), R15; \
	SHLQ $2, R15; \
	MOVQ 56(AX), R9; \
	MOVQ 80(AX), R13

// RNEXT moves maxRows' output (DI) one row on and its window's offsets
// (R8) k on, back to row while rows are left (R14); then its input (SI)
// one plane on, back to plane while planes are left (R13).
#define RNEXT(row, plane) \
	ADDQ R15, DI; \
	LEAQ (R8)(R9*8), R8; \
	DECQ R14; \
	JNZ row; \
	MOVQ 88(AX), R10; \
	LEAQ (SI)(R10*4), SI; \
	DECQ R13; \
	JNZ plane
