/* pdq.c: Meta's PDQ perceptual hash, bit-identical to the reference C++ (ThreatExchange
 * pdq/cpp).  Built with -ffp-contract=off: every float operation keeps the reference's order,
 * so no multiply-add may be fused.  The column pass of the Jarosz filter runs across columns
 * (one lane a column, same per-lane order), which the compiler vectorises exactly. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "image_int.h"

#define PDQ_MAX_SIDE 512
#define PDQ_MIN_DIM  5

static float dct_matrix[16][64];
static pthread_once_t dct_once = PTHREAD_ONCE_INIT;

static void dct_init(void)
{
	const double scale = sqrt(2.0 / 64.0);
	for (int i = 0; i < 16; i++)
		for (int j = 0; j < 64; j++)
			dct_matrix[i][j] =
			    (float)(scale * cos((M_PI / 2 / 64.0) * (i + 1) * (2 * j + 1)));
}

/* The reference's box1DFloat along one row (stride 1). */
static void box_row(const float *in, float *out, int n, int window)
{
	int half = (window + 2) / 2;
	int p1 = half - 1, p2 = window - half + 1, p3 = n - window, p4 = half - 1;
	int li = 0, ri = 0, oi = 0, count = 0;
	float sum = 0.0f;
	for (int i = 0; i < p1; i++) {
		sum += in[ri++];
		count++;
	}
	for (int i = 0; i < p2; i++) {
		sum += in[ri++];
		count++;
		out[oi++] = sum / count;
	}
	for (int i = 0; i < p3; i++) {
		sum += in[ri++];
		sum -= in[li++];
		out[oi++] = sum / count;
	}
	for (int i = 0; i < p4; i++) {
		sum -= in[li++];
		count--;
		out[oi++] = sum / count;
	}
}

static int reference_layout;

void pdq_set_reference_layout(int on)
{
	reference_layout = on;
}

/* The reference's box1DFloat with a stride: one column at a time. */
static void box_strided(const float *in, float *out, int n, int stride, int window)
{
	int half = (window + 2) / 2;
	int p1 = half - 1, p2 = window - half + 1, p3 = n - window, p4 = half - 1;
	int li = 0, ri = 0, oi = 0, count = 0;
	float sum = 0.0f;
	for (int i = 0; i < p1; i++, ri += stride) {
		sum += in[ri];
		count++;
	}
	for (int i = 0; i < p2; i++, ri += stride, oi += stride) {
		sum += in[ri];
		count++;
		out[oi] = sum / count;
	}
	for (int i = 0; i < p3; i++, ri += stride, li += stride, oi += stride) {
		sum += in[ri];
		sum -= in[li];
		out[oi] = sum / count;
	}
	for (int i = 0; i < p4; i++, li += stride, oi += stride) {
		sum -= in[li];
		count--;
		out[oi] = sum / count;
	}
}

/* box1DFloat down every column at once, four columns to a vector (GCC/clang vector
 * extensions, four lanes: SSE on x86-64, NEON on arm64): each lane does exactly the scalar sequence
 * of adds, subtracts and divides, so the result is the reference's bit for bit.  The last
 * cols % 4 columns run one at a time. */
typedef float v4f __attribute__((vector_size(16)));

static inline v4f v4_load(const float *p)
{
	v4f v;
	memcpy(&v, p, sizeof v);
	return v;
}

static inline void v4_store(float *p, v4f v)
{
	memcpy(p, &v, sizeof v);
}

static void box_cols(const float *in, float *out, int rows, int cols, int window, float *unused)
{
	int half = (window + 2) / 2;
	int p1 = half - 1, p2 = window - half + 1, p3 = rows - window, p4 = half - 1;
	int li = 0, ri = 0, oi = 0, count = 0;
	int nb = cols / 4;
	v4f sums[1024];
	(void)unused;
	if (nb > 1024)
		nb = 1024;
	for (int b = 0; b < nb; b++)
		sums[b] = (v4f){0, 0, 0, 0};
	for (int i = 0; i < p1; i++, ri++) {
		const float *r = in + (size_t)ri * cols;
		for (int b = 0; b < nb; b++)
			sums[b] += v4_load(r + 4 * b);
		count++;
	}
	for (int i = 0; i < p2; i++, ri++, oi++) {
		const float *r = in + (size_t)ri * cols;
		float *o = out + (size_t)oi * cols;
		count++;
		float c = (float)count;
		v4f vc = {c, c, c, c};
		for (int b = 0; b < nb; b++) {
			sums[b] += v4_load(r + 4 * b);
			v4_store(o + 4 * b, sums[b] / vc);
		}
	}
	for (int i = 0; i < p3; i++, ri++, li++, oi++) {
		const float *r = in + (size_t)ri * cols, *l = in + (size_t)li * cols;
		float *o = out + (size_t)oi * cols;
		float c = (float)count;
		v4f vc = {c, c, c, c};
		for (int b = 0; b < nb; b++) {
			sums[b] += v4_load(r + 4 * b);
			sums[b] -= v4_load(l + 4 * b);
			v4_store(o + 4 * b, sums[b] / vc);
		}
	}
	for (int i = 0; i < p4; i++, li++, oi++) {
		const float *l = in + (size_t)li * cols;
		float *o = out + (size_t)oi * cols;
		count--;
		float c = (float)count;
		v4f vc = {c, c, c, c};
		for (int b = 0; b < nb; b++) {
			sums[b] -= v4_load(l + 4 * b);
			v4_store(o + 4 * b, sums[b] / vc);
		}
	}
	for (int j = nb * 4; j < cols; j++)
		box_strided(in + j, out + j, rows, cols, window);
}

static void torben_median(const float *m, int n, float *out)
{
	/* The reference's Torben median returns the ((n+1)/2)-th smallest value. */
	int less, greater, equal;
	float min = m[0], max = m[0], guess, maxlt, mingt;
	for (int i = 1; i < n; i++) {
		if (m[i] < min)
			min = m[i];
		if (m[i] > max)
			max = m[i];
	}
	for (;;) {
		guess = (min + max) / 2;
		less = greater = equal = 0;
		maxlt = min;
		mingt = max;
		for (int i = 0; i < n; i++) {
			if (m[i] < guess) {
				less++;
				if (m[i] > maxlt)
					maxlt = m[i];
			} else if (m[i] > guess) {
				greater++;
				if (m[i] < mingt)
					mingt = m[i];
			} else
				equal++;
		}
		if (less <= (n + 1) / 2 && greater <= (n + 1) / 2)
			break;
		else if (less > greater)
			max = maxlt;
		else
			min = mingt;
	}
	if (less >= (n + 1) / 2)
		*out = maxlt;
	else if (less + equal >= (n + 1) / 2)
		*out = guess;
	else
		*out = mingt;
}

static void bits_from_16x16(const float b[16][16], ward_pdq_hash *h)
{
	float median;
	torben_median(&b[0][0], 256, &median);
	memset(h, 0, sizeof *h);
	for (int i = 0; i < 16; i++)
		for (int j = 0; j < 16; j++)
			if (b[i][j] > median)
				h->w[i] |= (uint16_t)(1u << j);
}

/* The reference's dihedral transforms of the DCT output (pdqhashing.cpp). */
static void dihedral_hashes(const float a[16][16], ward_pdq_hash *out)
{
	float b[16][16];
	for (int v = 0; v < WARD_PDQ_DIHEDRAL_COUNT; v++) {
		for (int i = 0; i < 16; i++)
			for (int j = 0; j < 16; j++) {
				float x = a[i][j];
				switch (v) {
				case WARD_PDQ_ORIG:
					b[i][j] = x;
					break;
				case WARD_PDQ_ROT90:
					b[j][i] = (j & 1) ? x : -x;
					break;
				case WARD_PDQ_ROT180:
					b[i][j] = ((i + j) & 1) ? -x : x;
					break;
				case WARD_PDQ_ROT270:
					b[j][i] = (i & 1) ? x : -x;
					break;
				case WARD_PDQ_FLIPX:
					b[i][j] = (i & 1) ? x : -x;
					break;
				case WARD_PDQ_FLIPY:
					b[i][j] = (j & 1) ? x : -x;
					break;
				case WARD_PDQ_FLIP_PLUS1:
					b[j][i] = x;
					break;
				default:
					b[j][i] = ((i + j) & 1) ? -x : x;
					break;
				}
			}
		bits_from_16x16((const float(*)[16])b, &out[v]);
	}
}

/* Owns nothing: luma and scratch are the caller's; both are overwritten. */
void pdq_hash_float(float *luma, float *scratch, int rows, int cols, ward_pdq_hash *hash,
                    int *quality, ward_pdq_hash *dihedral, float *dct16, float *ds64)
{
	float a[64][64], t[16][64], b[16][16];
	float sums[4096];
	pthread_once(&dct_once, dct_init);
	memset(hash, 0, sizeof *hash);
	*quality = 0;
	if (dihedral)
		memset(dihedral, 0, sizeof(ward_pdq_hash) * WARD_PDQ_DIHEDRAL_COUNT);
	if (rows < PDQ_MIN_DIM || cols < PDQ_MIN_DIM || cols > 4096)
		return;
	int wrow = (cols + 127) / 128, wcol = (rows + 127) / 128;
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < rows; i++)
			box_row(luma + (size_t)i * cols, scratch + (size_t)i * cols, cols, wrow);
		if (reference_layout)
			for (int j = 0; j < cols; j++)
				box_strided(scratch + j, luma + j, rows, cols, wcol);
		else
			box_cols(scratch, luma, rows, cols, wcol, sums);
	}
	for (int i = 0; i < 64; i++) {
		int ini = (int)(((i + 0.5) * rows) / 64);
		for (int j = 0; j < 64; j++) {
			int inj = (int)(((j + 0.5) * cols) / 64);
			a[i][j] = luma[(size_t)ini * cols + inj];
		}
	}
	if (ds64)
		memcpy(ds64, a, sizeof a);
	int grad = 0;
	for (int i = 0; i < 63; i++)
		for (int j = 0; j < 64; j++) {
			int d = (int)(((a[i][j] - a[i + 1][j]) * 100) / 255);
			grad += abs(d);
		}
	for (int i = 0; i < 64; i++)
		for (int j = 0; j < 63; j++) {
			int d = (int)(((a[i][j] - a[i][j + 1]) * 100) / 255);
			grad += abs(d);
		}
	*quality = grad / 90 > 100 ? 100 : grad / 90;
	for (int i = 0; i < 16; i++)
		for (int j = 0; j < 64; j++) {
			float s = 0.0f;
			for (int k = 0; k < 64; k++)
				s += dct_matrix[i][k] * a[k][j];
			t[i][j] = s;
		}
	for (int i = 0; i < 16; i++)
		for (int j = 0; j < 16; j++) {
			float s = 0.0f;
			for (int k = 0; k < 64; k++)
				s += t[i][k] * dct_matrix[j][k];
			b[i][j] = s;
		}
	if (dct16)
		memcpy(dct16, b, sizeof b);
	bits_from_16x16((const float(*)[16])b, hash);
	if (dihedral)
		dihedral_hashes((const float(*)[16])b, dihedral);
}

/* px is the caller's and not kept. */
ward_status ward_pdq_from_pixels(const uint8_t *px, unsigned width, unsigned height,
                                 unsigned channels, ward_pdq_hash *hash, int *quality,
                                 ward_pdq_hash dihedral[WARD_PDQ_DIHEDRAL_COUNT])
{
	ward_status st = WARD_OK;
	float *luma = NULL, *scratch = NULL;
	if (!px || !hash || !quality || (channels != 1 && channels != 3) || !width || !height) {
		st = WARD_EINVAL;
		goto done;
	}
	/* Larger images are first resized to exactly 512x512 by nearest neighbour. */
	int resize = width > PDQ_MAX_SIDE || height > PDQ_MAX_SIDE;
	unsigned w = resize ? PDQ_MAX_SIDE : width, h = resize ? PDQ_MAX_SIDE : height;
	luma = malloc(sizeof(float) * w * h);
	scratch = malloc(sizeof(float) * w * h);
	if (!luma || !scratch) {
		st = WARD_ENOMEM;
		goto done;
	}
	for (unsigned y = 0; y < h; y++) {
		size_t sy = resize ? ((size_t)y * height) >> 9 : y;
		const uint8_t *row = px + sy * width * channels;
		float *o = luma + (size_t)y * w;
		for (unsigned x = 0; x < w; x++) {
			size_t sx = resize ? ((size_t)x * width) >> 9 : x;
			if (channels == 1) {
				o[x] = row[sx];
			} else {
				const uint8_t *p = row + sx * 3;
				o[x] = 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
			}
		}
	}
	pdq_hash_float(luma, scratch, (int)h, (int)w, hash, quality, dihedral, NULL, NULL);
done:
	free(luma);
	free(scratch);
	return st;
}

void ward_pdq_to_hex(const ward_pdq_hash *h, char out[65])
{
	static const char hx[] = "0123456789abcdef";
	for (int i = 15, k = 0; i >= 0; i--)
		for (int s = 12; s >= 0; s -= 4)
			out[k++] = hx[(h->w[i] >> s) & 15];
	out[64] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* s is read, not kept. */
ward_status ward_pdq_from_hex(const char *s, size_t n, ward_pdq_hash *out)
{
	ward_status st = WARD_OK;
	ward_pdq_hash h;
	if (!s || !out || n != 64) {
		st = WARD_ESYNTAX;
		goto done;
	}
	for (int i = 0; i < 16; i++) {
		unsigned v = 0;
		for (int k = 0; k < 4; k++) {
			int d = hexval(s[i * 4 + k]);
			if (d < 0) {
				st = WARD_ESYNTAX;
				goto done;
			}
			v = v << 4 | (unsigned)d;
		}
		h.w[15 - i] = (uint16_t)v;
	}
	*out = h;
done:
	return st;
}

int ward_pdq_distance(const ward_pdq_hash *a, const ward_pdq_hash *b)
{
	const uint8_t *x = (const uint8_t *)a->w, *y = (const uint8_t *)b->w;
	int d = 0;
	for (int i = 0; i < 32; i += 8) {
		uint64_t p, q;
		memcpy(&p, x + i, 8);
		memcpy(&q, y + i, 8);
		d += __builtin_popcountll(p ^ q);
	}
	return d;
}

void ward_hex(const uint8_t *b, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[b[i] >> 4];
		out[2 * i + 1] = hx[b[i] & 15];
	}
	out[2 * n] = '\0';
}
