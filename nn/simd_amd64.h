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
