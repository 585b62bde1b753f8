/* The batch-1 stream floor at AVX2's width: one core reading the 784-300-10 MLP's weights
   (954,048 bytes) from its cache with 256-bit loads, best of 3,000 passes.

   `../shared/tools/machine-limits/run` measures the floor with 512-bit loads only, so it does
   not build on an AVX2-only CPU. This is its `l2_stream.c` loop at 256 bits (eight 8-lane
   sums, 64 floats a step): the floor an AVX2-only CPU, or the AVX2 code on an AVX-512 CPU
   (`TYPED_NN_MAX_ISA=avx2`), is judged against. It also prints the median and the 10th and
   90th percentiles, since the passes of a shared machine's cache come in modes.

       cc -O3 -march=native tools/stream_floor_256.c -o /tmp/stream_floor_256 && /tmp/stream_floor_256
*/
#include <immintrin.h>
#ifndef __AVX2__
#error "needs AVX2 (build with -march=native on an AVX2 CPU)"
#endif
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define PASSES 3000

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static int by_time(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return (a > b) - (a < b);
}

int main(void) {
  size_t bytes = 954048, n = bytes / 4;
  float *a = aligned_alloc(64, bytes);
  if (!a) return 1;
  for (size_t i = 0; i < n; i++) a[i] = i * 1e-9f;
  __m256 acc[8];
  for (int k = 0; k < 8; k++) acc[k] = _mm256_setzero_ps();
  static double passes[PASSES];
  for (int r = 0; r < PASSES; r++) {
    double t0 = now();
    for (size_t i = 0; i + 64 <= n; i += 64)
      for (int k = 0; k < 8; k++) acc[k] = _mm256_add_ps(acc[k], _mm256_load_ps(a + i + 8 * k));
    passes[r] = now() - t0;
  }
  qsort(passes, PASSES, sizeof passes[0], by_time);
  float s = 0;
  for (int k = 0; k < 8; k++) {
    float lanes[8];
    _mm256_storeu_ps(lanes, acc[k]);
    for (int j = 0; j < 8; j++) s += lanes[j];
  }
  double best = passes[0];
  printf("RESULT stream_floor_256 bytes=%zu us=%.3f gbps=%.1f p10=%.3f median=%.3f p90=%.3f check=%g\n",
         bytes, best * 1e6, bytes / best / 1e9, passes[PASSES / 10] * 1e6, passes[PASSES / 2] * 1e6,
         passes[PASSES * 9 / 10] * 1e6, s);
  free(a);
  return 0;
}
