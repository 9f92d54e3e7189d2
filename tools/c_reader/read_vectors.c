/* read_vectors.c -- read mxref's spec_vectors/ from C with fread, no Python, no libraries.
 *
 *   cc -std=c99 -O2 -Wall -o read_vectors tools/c_reader/read_vectors.c -lm
 *   ./read_vectors spec_vectors
 *
 * What it does, as a template for a GPU team's own test harness:
 *   1. finds each file's "size" in MANIFEST.json (a plain string scan, no JSON library) and
 *      checks it against the file on disk;
 *   2. reads every decode table (codes -> float32 bits) and decodes every code itself from the
 *      format's parameters (MX §5.3, OFP8 §5.1, E8M0 §5.4.1), comparing bit for bit;
 *   3. reads the encode vector set fp4_e2m1 / rne / saturate (float32 bits in, codes out) and
 *      checks each expected code is the nearest FP4 value, ties to the even code, saturating.
 * Exit status 0 when everything matches, 1 otherwise; one line per mismatch.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
static char *manifest = NULL;

static void fail(const char *msg, const char *path, long i, unsigned got, unsigned want) {
    printf("MISMATCH %s %s[%ld]: got %08X expected %08X\n", msg, path, i, got, want);
    failures++;
}

/* The size recorded for `path` in MANIFEST.json: the first "size" after its "path" entry
 * (the manifest is written with sorted keys, so "size" follows "path" in every entry). */
static long manifest_size(const char *path) {
    char key[512];
    snprintf(key, sizeof key, "\"path\": \"%s\"", path);
    const char *p = strstr(manifest, key);
    if (!p) return -1;
    p = strstr(p, "\"size\":");
    return p ? strtol(p + 7, NULL, 10) : -1;
}

/* Read a whole file, checking its size against the manifest. */
static unsigned char *read_file(const char *dir, const char *rel, long *n) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    FILE *f = fopen(path, "rb");
    if (!f) { printf("MISSING %s\n", path); failures++; return NULL; }
    fseek(f, 0, SEEK_END);
    *n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(*n ? *n : 1);
    if (fread(buf, 1, *n, f) != (size_t)*n) { printf("SHORT READ %s\n", path); failures++; }
    fclose(f);
    long want = manifest_size(rel);
    if (want != *n) { printf("SIZE %s: %ld bytes, manifest says %ld\n", rel, *n, want); failures++; }
    return buf;
}

static uint32_t le32(const unsigned char *b) {  /* little-endian on any host */
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint32_t f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float u2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

/* One format's decoding parameters. */
typedef struct {
    const char *name;
    int bits, ebits, mbits, bias;
    int inf_nan;   /* 0: finite only; 1: IEEE-like (E5M2); 2: only S.1..1.1..1 is NaN (E4M3) */
    int integer;   /* two's complement times 2^-6 (INT8) */
    int e8m0;      /* unsigned exponent, 0xFF NaN */
} fmt_t;

static const fmt_t FORMATS[] = {
    {"fp8_e4m3", 8, 4, 3, 7, 2, 0, 0}, {"fp8_e5m2", 8, 5, 2, 15, 1, 0, 0},
    {"fp6_e2m3", 6, 2, 3, 1, 0, 0, 0}, {"fp6_e3m2", 6, 3, 2, 3, 0, 0, 0},
    {"fp4_e2m1", 4, 2, 1, 1, 0, 0, 0}, {"int8", 8, 0, 0, 0, 0, 1, 0},
    {"e8m0", 8, 8, 0, 127, 0, 0, 1},
};

/* Decode one code to float32 bits, from the spec's formula. NaN returns the quiet NaN with the
 * code's sign (0x7FC00000 / 0xFFC00000), as mxref writes it. */
static uint32_t decode(const fmt_t *f, unsigned code) {
    if (f->e8m0) {
        if (code == 0xFF) return 0x7FC00000u;
        return f2u(ldexpf(1.0f, (int)code - 127));
    }
    if (f->integer) return f2u(ldexpf((float)(int8_t)code, -6));
    unsigned s = code >> (f->bits - 1);
    unsigned e = (code >> f->mbits) & ((1u << f->ebits) - 1);
    unsigned m = code & ((1u << f->mbits) - 1);
    unsigned emask = (1u << f->ebits) - 1;
    float v;
    if (f->inf_nan == 1 && e == emask) v = m ? NAN : INFINITY;
    else if (f->inf_nan == 2 && e == emask && m == (1u << f->mbits) - 1) v = NAN;
    else if (e == 0) v = ldexpf((float)m, 1 - f->bias - f->mbits);
    else v = ldexpf((float)(m + (1u << f->mbits)), (int)e - f->bias - f->mbits);
    if (isnan(v)) return s ? 0xFFC00000u : 0x7FC00000u;
    return f2u(s ? -v : v);
}

static void check_decode_tables(const char *dir) {
    for (size_t k = 0; k < sizeof FORMATS / sizeof FORMATS[0]; k++) {
        const fmt_t *f = &FORMATS[k];
        char rc[256], rv[256];
        snprintf(rc, sizeof rc, "decode/%s.codes.u8", f->name);
        snprintf(rv, sizeof rv, "decode/%s.f32.u32", f->name);
        long nc, nv;
        unsigned char *codes = read_file(dir, rc, &nc), *vals = read_file(dir, rv, &nv);
        if (!codes || !vals) continue;
        if (nc != (1L << f->bits) || nv != 4 * nc) {
            printf("SHAPE %s: %ld codes, %ld value bytes\n", f->name, nc, nv); failures++;
        } else {
            for (long i = 0; i < nc; i++) {
                uint32_t want = decode(f, codes[i]), got = le32(vals + 4 * i);
                if (got != want) fail("decode", rv, i, got, want);
            }
            printf("decode %-9s %4ld codes ok\n", f->name, nc);
        }
        free(codes); free(vals);
    }
}

/* fp4_e2m1, RNE, saturating: the expected code must be a nearest value (ties: even code). */
static void check_encode_fp4(const char *dir) {
    const char *rin = "encode/fp4_e2m1.in.f32.u32", *rout = "encode/fp4_e2m1.rne.saturate.u8";
    long ni, no;
    unsigned char *in = read_file(dir, rin, &ni), *out = read_file(dir, rout, &no);
    if (!in || !out) return;
    if (ni != 4 * no) { printf("SHAPE fp4 encode: %ld inputs, %ld outputs\n", ni / 4, no); failures++; return; }
    const fmt_t *f = &FORMATS[4];
    for (long i = 0; i < no; i++) {
        double x = u2f(le32(in + 4 * i));
        unsigned c = out[i];
        if (c > 15) { fail("fp4 code out of range", rout, i, c, 15); continue; }
        if (isnan(x)) continue;  /* not in this set: FP4 has no NaN */
        double xs = x > 6.0 ? 6.0 : (x < -6.0 ? -6.0 : x);  /* saturate (Inf too) */
        double got = u2f(decode(f, c));
        double best = INFINITY;
        unsigned best_c = 0;
        for (unsigned d = 0; d < 16; d++) {  /* the nearest value of x's sign; ties to even code */
            if ((d >> 3) != (signbit(x) ? 1u : 0u)) continue;
            double err = fabs((double)u2f(decode(f, d)) - xs);
            if (err < best || (err == best && (d & 1) == 0)) { best = err; best_c = d; }
        }
        if (got != u2f(decode(f, best_c)) || (c >> 3) != (best_c >> 3))
            fail("encode fp4_e2m1 rne saturate", rout, i, c, best_c);
    }
    printf("encode fp4_e2m1 rne saturate: %ld vectors checked\n", no);
    free(in); free(out);
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "spec_vectors";
    char path[1024];
    snprintf(path, sizeof path, "%s/MANIFEST.json", dir);
    FILE *f = fopen(path, "rb");
    if (!f) { printf("cannot open %s\n", path); return 1; }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    manifest = calloc(n + 1, 1);
    if (fread(manifest, 1, n, f) != (size_t)n) { printf("cannot read %s\n", path); return 1; }
    fclose(f);
    check_decode_tables(dir);
    check_encode_fp4(dir);
    printf("%d mismatch(es)\n", failures);
    free(manifest);
    return failures ? 1 : 0;
}
