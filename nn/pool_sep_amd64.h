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
