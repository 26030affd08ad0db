// Macros shared by the direct 3x3 kernels (conv_dwdirect_amd64.s,
// conv_dwmulti_amd64.s), over dwDirectPlan's per-block masks at CX.

// ROWSTART starts an output row: BX (output byte offset) at 0, CX at the
// first block's masks (dwDirectArgs.masks and dwMultiArgs.masks at 56).
#define ROWSTART XORQ BX, BX; MOVQ 56(AX), CX

// TAPMASKS loads the block's input masks into K1-K6: tap column kw at
// K(2kw+1) (stride 2: low 16 lanes) and K(2kw+2) (high 16 lanes).
#define TAPMASKS \
	KMOVW 0(CX), K1; \
	KMOVW 2(CX), K2; \
	KMOVW 4(CX), K3; \
	KMOVW 6(CX), K4; \
	KMOVW 8(CX), K5; \
	KMOVW 10(CX), K6

// NEXTBLOCK moves to the next 16-output block and loops to block while the
// row (end at 24(AX)) has more.
#define NEXTBLOCK(block) \
	ADDQ $64, BX; \
	ADDQ $16, CX; \
	CMPQ BX, 24(AX); \
	JLT block
