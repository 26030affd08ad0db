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
