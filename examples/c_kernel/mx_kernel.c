/* mx_kernel.c -- the "check your kernel" recipe in C99, no libraries (see examples/README.md).
 *
 *   cc -std=c99 -O2 -Wall -o mx_kernel examples/c_kernel/mx_kernel.c -lm
 *   ./mx_kernel spec_vectors OUT && mxref check --library dump --dump OUT
 *
 * 1. reads the MXFP4 (E2M1) quantize inputs of spec_vectors/ (mx/mxfp4_e2m1/<set>.in.f32.u32,
 *    float32 bits, shape (rows, L) from MANIFEST.json; blocks of 32 along each row, a short last
 *    block where L is not a multiple of 32);
 * 2. runs a deliberately wrong "kernel": the MX v1.0 §6.3 FLOOR scale, but elements rounded to
 *    nearest with ties AWAY from zero instead of ties to even;
 * 3. writes its outputs at the same relative paths as the expected files of the floor / rne
 *    mode (<set>.floor.rne.scales.u8, <set>.floor.rne.elements.u8), next to a copy of
 *    MANIFEST.json. The checker compares what is there and says which blocks differ.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *slurp(const char *path, long *n) {
    FILE *f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "cannot open %s\n", path); exit(2); }
    fseek(f, 0, SEEK_END);
    *n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc(*n + 1);
    if (fread(b, 1, *n, f) != (size_t)*n) { fprintf(stderr, "short read %s\n", path); exit(2); }
    b[*n] = 0;
    fclose(f);
    return b;
}

static void spit(const char *path, const void *b, long n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, n, f) != (size_t)n) { fprintf(stderr, "cannot write %s\n", path); exit(2); }
    fclose(f);
}

/* "shape": [rows, L] of a MANIFEST.json entry (keys are sorted: "shape" follows "path"). */
static void shape_of(const char *manifest, const char *rel, long *rows, long *len) {
    char key[1024];
    snprintf(key, sizeof key, "\"path\": \"%s\"", rel);
    const char *p = strstr(manifest, key);
    if (!p || !(p = strstr(p, "\"shape\": ["))) { fprintf(stderr, "no entry %s\n", rel); exit(2); }
    *rows = strtol(p + 10, (char **)&p, 10);
    *len = strtol(p + 1, NULL, 10);
}

static const double E2M1[8] = {0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0};

/* The wrong element rounding: nearest, ties away from zero (RNE would pick the even code). */
static unsigned e2m1_ties_away(double y) {
    unsigned s = signbit(y) ? 8u : 0u;
    double a = fabs(y);
    if (a >= 6.0) return s | 7u;  /* saturate */
    unsigned i = 0;
    while (i < 7 && E2M1[i + 1] <= a) i++;
    double mid = (E2M1[i] + E2M1[i + 1]) / 2.0;
    return s | (a >= mid ? i + 1 : i);  /* a == mid: away (the bug) */
}

/* One block: the FLOOR shared exponent floor(log2(amax)) - emax(E2M1) = -2, clamped to
 * [-127, 127]; NaN or Inf in the block -> scale 0xFF, codes 0; all zeros -> scale 0. */
static void quantize_block(const float *x, int n, uint8_t *scale, uint8_t *codes) {
    double amax = 0.0;
    int special = 0;
    for (int i = 0; i < n; i++) {
        if (isnan(x[i]) || isinf(x[i])) special = 1;
        else if (fabs((double)x[i]) > amax) amax = fabs((double)x[i]);
    }
    if (special) { *scale = 0xFF; memset(codes, 0, n); return; }
    int se = -127;
    if (amax > 0) {
        int e;
        frexp(amax, &e);             /* amax = m 2^e, m in [0.5, 1): floor(log2 amax) = e - 1 */
        se = e - 1 - 2;
        if (se < -127) se = -127;
        if (se > 127) se = 127;
    }
    *scale = (uint8_t)(se + 127);
    for (int i = 0; i < n; i++) codes[i] = (uint8_t)e2m1_ties_away(ldexp((double)x[i], -se));  /* exact */
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: %s SPEC_VECTORS_DIR OUT_DIR\n", argv[0]); return 2; }
    char path[2048], rel[256];
    long nm;
    snprintf(path, sizeof path, "%s/MANIFEST.json", argv[1]);
    char *manifest = slurp(path, &nm);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/mx/mxfp4_e2m1'", argv[2]);  /* C99 has no mkdir */
    if (system(cmd) != 0) { fprintf(stderr, "cannot create %s/mx/mxfp4_e2m1\n", argv[2]); return 2; }
    snprintf(path, sizeof path, "%s/MANIFEST.json", argv[2]);
    spit(path, manifest, nm);  /* all of it: the checker checks the files that are present */
    const char *sets[] = {"edge", "random", "ragged"};
    for (int s = 0; s < 3; s++) {
        long rows, len, nb;
        snprintf(rel, sizeof rel, "mx/mxfp4_e2m1/%s.in.f32.u32", sets[s]);
        shape_of(manifest, rel, &rows, &len);
        snprintf(path, sizeof path, "%s/%s", argv[1], rel);
        char *raw = slurp(path, &nb);
        if (nb != rows * len * 4) { fprintf(stderr, "%s: size %ld\n", rel, nb); return 2; }
        float *x = malloc(nb);
        for (long i = 0; i < rows * len; i++) {  /* little-endian on any host */
            const unsigned char *b = (const unsigned char *)raw + 4 * i;
            uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
            memcpy(&x[i], &u, 4);
        }
        long nblk = (len + 31) / 32;
        uint8_t *scales = malloc(rows * nblk), *codes = malloc(rows * len);
        for (long r = 0; r < rows; r++)
            for (long j = 0; j < nblk; j++) {
                int n = (int)(len - 32 * j < 32 ? len - 32 * j : 32);
                quantize_block(x + r * len + 32 * j, n, scales + r * nblk + j, codes + r * len + 32 * j);
            }
        snprintf(path, sizeof path, "%s/mx/mxfp4_e2m1/%s.floor.rne.scales.u8", argv[2], sets[s]);
        spit(path, scales, rows * nblk);
        snprintf(path, sizeof path, "%s/mx/mxfp4_e2m1/%s.floor.rne.elements.u8", argv[2], sets[s]);
        spit(path, codes, rows * len);
        printf("%s: %ld rows x %ld, %ld blocks written\n", sets[s], rows, len, rows * nblk);
        free(raw); free(x); free(scales); free(codes);
    }
    free(manifest);
    return 0;
}
