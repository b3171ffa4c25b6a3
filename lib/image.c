/* image.c: decoders (libjpeg-turbo, libpng, libwebp, giflib first frame) into 8-bit grey or
 * RGB in memory, with limits checked from the header before any pixel is decoded; exact
 * hashes with nettle.  Pixels live only in heap memory and are freed at once. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <gif_lib.h>
#include <jpeglib.h>
#include <nettle/md5.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <webp/decode.h>

#include "image_int.h"

typedef struct pixels {
	uint8_t *px; /* width * height * channels; owned */
	unsigned width, height, channels;
} pixels;

static void diag_set(ward_diag *d, const char *msg)
{
	if (d) {
		snprintf(d->message, sizeof d->message, "%s", msg);
		d->line = 0;
	}
}

static ward_status check_dims(unsigned long w, unsigned long h, ward_diag *d)
{
	ward_status st = WARD_OK;
	char m[200];
	if (w == 0 || h == 0) {
		diag_set(d, "image has no pixels");
		st = WARD_EIMAGE;
	} else if (w > WARD_IMAGE_MAX_DIM || h > WARD_IMAGE_MAX_DIM ||
	           (unsigned long long)w * h > WARD_IMAGE_MAX_PIXELS) {
		snprintf(
		    m, sizeof m,
		    "image of %lux%lu pixels exceeds the limit (%u per side, %u pixels): refused",
		    w, h, WARD_IMAGE_MAX_DIM, WARD_IMAGE_MAX_PIXELS);
		diag_set(d, m);
		st = WARD_ELIMIT;
	}
	return st;
}

/* ---- JPEG ---- */
typedef struct jerr {
	struct jpeg_error_mgr mgr;
	jmp_buf jb;
	char msg[JMSG_LENGTH_MAX];
} jerr;

static void jpeg_fail(j_common_ptr c)
{
	jerr *e = (jerr *)c->err;
	c->err->format_message(c, e->msg);
	longjmp(e->jb, 1);
}

static void jpeg_quiet(j_common_ptr c, int level)
{
	(void)c;
	(void)level; /* warnings (e.g. premature end) are not printed */
}

static ward_status decode_jpeg(const uint8_t *buf, size_t len, pixels *p, ward_diag *d)
{
	struct jpeg_decompress_struct ci;
	jerr e;
	volatile ward_status st = WARD_OK;
	uint8_t *volatile out = NULL;
	uint8_t *volatile cmyk = NULL;
	memset(&ci, 0, sizeof ci);
	ci.err = jpeg_std_error(&e.mgr);
	e.mgr.error_exit = jpeg_fail;
	e.mgr.emit_message = jpeg_quiet;
	if (setjmp(e.jb)) {
		char m[300];
		snprintf(m, sizeof m, "corrupt JPEG: %s", e.msg);
		diag_set(d, m);
		st = WARD_EIMAGE;
		goto done;
	}
	jpeg_create_decompress(&ci);
	/* A bound on the decoder's own working memory too. */
	ci.mem->max_memory_to_use = 512L * 1024 * 1024;
	jpeg_mem_src(&ci, buf, (unsigned long)len);
	jpeg_read_header(&ci, TRUE);
	st = check_dims(ci.image_width, ci.image_height, d);
	if (st != WARD_OK)
		goto done;
	unsigned ch;
	if (ci.jpeg_color_space == JCS_GRAYSCALE) {
		ci.out_color_space = JCS_GRAYSCALE;
		ch = 1;
	} else if (ci.jpeg_color_space == JCS_CMYK || ci.jpeg_color_space == JCS_YCCK) {
		ci.out_color_space = JCS_CMYK;
		ch = 4;
	} else {
		ci.out_color_space = JCS_RGB;
		ch = 3;
	}
	jpeg_start_decompress(&ci);
	size_t w = ci.output_width, h = ci.output_height;
	uint8_t *o = malloc(w * h * ch);
	if (!o) {
		st = WARD_ENOMEM;
		goto done;
	}
	if (ch == 4)
		cmyk = o;
	else
		out = o;
	while (ci.output_scanline < ci.output_height) {
		JSAMPROW row = o + (size_t)ci.output_scanline * w * ch;
		jpeg_read_scanlines(&ci, &row, 1);
	}
	jpeg_finish_decompress(&ci);
	if (ch == 4) {
		/* Adobe CMYK is stored inverted: R = C' * K' / 255, as ImageMagick converts it. */
		uint8_t *rgb = malloc(w * h * 3);
		if (!rgb) {
			st = WARD_ENOMEM;
			goto done;
		}
		for (size_t i = 0; i < w * h; i++) {
			unsigned k = cmyk[i * 4 + 3];
			for (int c = 0; c < 3; c++)
				rgb[i * 3 + c] = (uint8_t)((cmyk[i * 4 + c] * k + 127) / 255);
		}
		out = rgb;
		ch = 3;
	}
	p->px = out;
	out = NULL;
	p->width = (unsigned)w;
	p->height = (unsigned)h;
	p->channels = ch;
done:
	jpeg_destroy_decompress(&ci);
	free(out);
	free(cmyk);
	return st;
}

/* ---- PNG ---- */
typedef struct pngsrc {
	const uint8_t *buf;
	size_t len, off;
	char msg[200];
} pngsrc;

static void png_read_mem(png_structp png, png_bytep data, png_size_t n)
{
	pngsrc *s = png_get_io_ptr(png);
	if (n > s->len - s->off)
		png_error(png, "truncated PNG");
	memcpy(data, s->buf + s->off, n);
	s->off += n;
}

static void png_err(png_structp png, png_const_charp msg)
{
	pngsrc *s = png_get_error_ptr(png);
	snprintf(s->msg, sizeof s->msg, "corrupt PNG: %s", msg);
	png_longjmp(png, 1);
}

static void png_warn(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

static ward_status decode_png(const uint8_t *buf, size_t len, pixels *p, ward_diag *d)
{
	pngsrc src = {buf, len, 0, ""};
	png_structp png = NULL;
	png_infop info = NULL;
	volatile ward_status st = WARD_OK;
	uint8_t *volatile out = NULL;
	png_bytep *volatile rows = NULL;
	/* Refuse a bomb from IHDR alone, before libpng reads further. */
	if (len >= 24 && !memcmp(buf + 12, "IHDR", 4)) {
		unsigned long w0 = (unsigned long)buf[16] << 24 | (unsigned long)buf[17] << 16 |
		                   (unsigned long)buf[18] << 8 | buf[19];
		unsigned long h0 = (unsigned long)buf[20] << 24 | (unsigned long)buf[21] << 16 |
		                   (unsigned long)buf[22] << 8 | buf[23];
		st = check_dims(w0, h0, d);
		if (st != WARD_OK)
			goto done;
	}
	png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_err, png_warn);
	if (!png || !(info = png_create_info_struct(png))) {
		st = WARD_ENOMEM;
		goto done;
	}
	if (setjmp(png_jmpbuf(png))) {
		diag_set(d, src.msg[0] ? src.msg : "corrupt PNG");
		st = WARD_EIMAGE;
		goto done;
	}
	png_set_user_limits(png, WARD_IMAGE_MAX_DIM, WARD_IMAGE_MAX_DIM);
	png_set_chunk_malloc_max(png, 64 * 1024 * 1024);
	png_set_read_fn(png, &src, png_read_mem);
	png_read_info(png, info);
	png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
	st = check_dims(w, h, d);
	if (st != WARD_OK)
		goto done;
	int ct = png_get_color_type(png, info);
	/* 16-bit samples are scaled to 8 with rounding (v * 255 / 65535), as ImageMagick does. */
	png_set_scale_16(png);
	png_set_packing(png);
	if (ct == PNG_COLOR_TYPE_PALETTE)
		png_set_palette_to_rgb(png);
	if (ct == PNG_COLOR_TYPE_GRAY)
		png_set_expand_gray_1_2_4_to_8(png);
	png_set_strip_alpha(png);
	(void)png_set_interlace_handling(png);
	png_read_update_info(png, info);
	unsigned ch = png_get_channels(png, info);
	if (ch != 1 && ch != 3) {
		diag_set(d, "unexpected PNG channel layout");
		st = WARD_EIMAGE;
		goto done;
	}
	out = malloc((size_t)w * h * ch);
	rows = malloc(sizeof(png_bytep) * h);
	if (!out || !rows) {
		st = WARD_ENOMEM;
		goto done;
	}
	for (png_uint_32 y = 0; y < h; y++)
		rows[y] = out + (size_t)y * w * ch;
	png_read_image(png, rows);
	p->px = out;
	out = NULL;
	p->width = w;
	p->height = h;
	p->channels = ch;
done:
	png_destroy_read_struct(png ? &png : NULL, info ? &info : NULL, NULL);
	free(out);
	free(rows);
	return st;
}

/* ---- WebP ---- */
static ward_status decode_webp(const uint8_t *buf, size_t len, pixels *p, ward_diag *d)
{
	ward_status st = WARD_OK;
	int w = 0, h = 0;
	if (!WebPGetInfo(buf, len, &w, &h)) {
		diag_set(d, "corrupt WebP header");
		st = WARD_EIMAGE;
		goto done;
	}
	st = check_dims((unsigned long)w, (unsigned long)h, d);
	if (st != WARD_OK)
		goto done;
	uint8_t *px = WebPDecodeRGB(buf, len, &w, &h);
	if (!px) {
		diag_set(d, "corrupt or truncated WebP");
		st = WARD_EIMAGE;
		goto done;
	}
	/* Copy into our own allocation so one free() fits every decoder. */
	p->px = malloc((size_t)w * h * 3);
	if (p->px)
		memcpy(p->px, px, (size_t)w * h * 3);
	WebPFree(px);
	if (!p->px) {
		st = WARD_ENOMEM;
		goto done;
	}
	p->width = (unsigned)w;
	p->height = (unsigned)h;
	p->channels = 3;
done:
	return st;
}

/* ---- GIF (first frame) ---- */
typedef struct gifsrc {
	const uint8_t *buf;
	size_t len, off;
} gifsrc;

static int gif_read_mem(GifFileType *g, GifByteType *data, int n)
{
	gifsrc *s = g->UserData;
	size_t k = (size_t)n;
	if (k > s->len - s->off)
		k = s->len - s->off;
	memcpy(data, s->buf + s->off, k);
	s->off += k;
	return (int)k;
}

static ward_status decode_gif(const uint8_t *buf, size_t len, pixels *p, ward_diag *d)
{
	ward_status st = WARD_OK;
	gifsrc src = {buf, len, 0};
	int err = 0;
	GifFileType *g = DGifOpen(&src, gif_read_mem, &err);
	uint8_t *idx = NULL, *out = NULL;
	GifRecordType rt;
	if (!g) {
		diag_set(d, "corrupt GIF header");
		st = WARD_EIMAGE;
		goto done;
	}
	st = check_dims((unsigned long)g->SWidth, (unsigned long)g->SHeight, d);
	if (st != WARD_OK)
		goto done;
	for (;;) {
		if (DGifGetRecordType(g, &rt) == GIF_ERROR || rt == TERMINATE_RECORD_TYPE) {
			diag_set(d, "GIF has no readable frame");
			st = WARD_EIMAGE;
			goto done;
		}
		if (rt == IMAGE_DESC_RECORD_TYPE)
			break;
		if (rt == EXTENSION_RECORD_TYPE) {
			int code;
			GifByteType *ext;
			if (DGifGetExtension(g, &code, &ext) == GIF_ERROR)
				goto bad;
			while (ext)
				if (DGifGetExtensionNext(g, &ext) == GIF_ERROR)
					goto bad;
		}
	}
	if (DGifGetImageDesc(g) == GIF_ERROR)
		goto bad;
	GifImageDesc *im = &g->Image;
	unsigned w = (unsigned)im->Width, h = (unsigned)im->Height;
	st = check_dims(w, h, d);
	if (st != WARD_OK)
		goto done;
	ColorMapObject *cm = im->ColorMap ? im->ColorMap : g->SColorMap;
	if (!cm) {
		diag_set(d, "GIF frame has no colour map");
		st = WARD_EIMAGE;
		goto done;
	}
	idx = malloc((size_t)w * h);
	out = malloc((size_t)w * h * 3);
	if (!idx || !out) {
		st = WARD_ENOMEM;
		goto done;
	}
	if (im->Interlace) {
		static const unsigned start[] = {0, 4, 2, 1}, step[] = {8, 8, 4, 2};
		for (int pass = 0; pass < 4; pass++)
			for (unsigned y = start[pass]; y < h; y += step[pass])
				if (DGifGetLine(g, idx + (size_t)y * w, (int)w) == GIF_ERROR)
					goto bad;
	} else {
		for (unsigned y = 0; y < h; y++)
			if (DGifGetLine(g, idx + (size_t)y * w, (int)w) == GIF_ERROR)
				goto bad;
	}
	for (size_t i = 0; i < (size_t)w * h; i++) {
		unsigned c = idx[i];
		GifColorType col = c < (unsigned)cm->ColorCount ? cm->Colors[c] : cm->Colors[0];
		out[i * 3] = col.Red;
		out[i * 3 + 1] = col.Green;
		out[i * 3 + 2] = col.Blue;
	}
	p->px = out;
	out = NULL;
	p->width = w;
	p->height = h;
	p->channels = 3;
	goto done;
bad:
	diag_set(d, "corrupt or truncated GIF");
	st = WARD_EIMAGE;
done:
	if (g)
		DGifCloseFile(g, &err);
	free(idx);
	free(out);
	return st;
}

/* Colour pixels that are all grey are hashed as grey, as the reference's decoder gives them. */
static void maybe_grey(pixels *p)
{
	size_t n = (size_t)p->width * p->height;
	if (p->channels != 3)
		return;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *q = p->px + i * 3;
		if (q[0] != q[1] || q[1] != q[2])
			return;
	}
	for (size_t i = 0; i < n; i++)
		p->px[i] = p->px[i * 3];
	p->channels = 1;
}

/* The format comes from the bytes, never from the file name.  p->px: caller frees. */
static ward_status decode_any(const uint8_t *b, size_t len, pixels *p, const char **format,
                              ward_diag *diag)
{
	ward_status st = WARD_OK;
	if (len >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff) {
		*format = "jpeg";
		st = decode_jpeg(b, len, p, diag);
	} else if (len >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8)) {
		*format = "png";
		st = decode_png(b, len, p, diag);
	} else if (len >= 12 && !memcmp(b, "RIFF", 4) && !memcmp(b + 8, "WEBP", 4)) {
		*format = "webp";
		st = decode_webp(b, len, p, diag);
	} else if (len >= 6 && (!memcmp(b, "GIF87a", 6) || !memcmp(b, "GIF89a", 6))) {
		*format = "gif";
		st = decode_gif(b, len, p, diag);
	} else {
		diag_set(diag,
		         len ? "not an image ward reads (JPEG, PNG, WebP, GIF)" : "empty file");
		st = WARD_EFORMAT;
	}
	if (st == WARD_OK)
		maybe_grey(p);
	return st;
}

/* *px: caller frees. */
ward_status image_decode(const uint8_t *buf, size_t len, uint8_t **px, unsigned *width,
                         unsigned *height, unsigned *channels, ward_diag *d)
{
	pixels p = {NULL, 0, 0, 0};
	const char *fmt = NULL;
	ward_status st = decode_any(buf, len, &p, &fmt, d);
	*px = p.px;
	*width = p.width;
	*height = p.height;
	*channels = p.channels;
	return st;
}

/* buf is the caller's and not kept. */
ward_status ward_image_hash_mem(const void *buf, size_t len, int flags, ward_image_hashes *out,
                                ward_diag *diag)
{
	ward_status st = WARD_OK;
	const uint8_t *b = buf;
	pixels p = {NULL, 0, 0, 0};
	if (!out || (!buf && len)) {
		st = WARD_EINVAL;
		goto done;
	}
	memset(out, 0, sizeof *out);
	if (len > WARD_IMAGE_MAX_FILE) {
		diag_set(diag, "file larger than the image size limit: refused");
		st = WARD_ELIMIT;
		goto done;
	}
	/* Exact hashes of the bytes as they are, before any decoding. */
	struct md5_ctx m;
	struct sha1_ctx s1;
	struct sha256_ctx s2;
	md5_init(&m);
	md5_update(&m, len, b);
	md5_digest(&m, sizeof out->md5, out->md5);
	sha1_init(&s1);
	sha1_update(&s1, len, b);
	sha1_digest(&s1, sizeof out->sha1, out->sha1);
	sha256_init(&s2);
	sha256_update(&s2, len, b);
	sha256_digest(&s2, sizeof out->sha256, out->sha256);

	st = decode_any(b, len, &p, &out->format, diag);
	if (st != WARD_OK)
		goto done;
	out->width = p.width;
	out->height = p.height;
	st = ward_pdq_from_pixels(p.px, p.width, p.height, p.channels, &out->pdq, &out->quality,
	                          (flags & WARD_IMAGE_DIHEDRAL) ? out->dihedral : NULL);
	if (!(flags & WARD_IMAGE_DIHEDRAL))
		out->dihedral[0] = out->pdq;
done:
	free(p.px);
	return st;
}

/* path is read, not kept; the bytes are freed before returning. */
ward_status ward_image_hash_file(const char *path, int flags, ward_image_hashes *out,
                                 ward_diag *diag)
{
	ward_status st = WARD_OK;
	int fd = -1;
	uint8_t *buf = NULL;
	struct stat sb;
	if (diag) {
		snprintf(diag->file, sizeof diag->file, "%s", path ? path : "");
		diag->line = 0;
		diag->message[0] = '\0';
	}
	if (!path || !out) {
		st = WARD_EINVAL;
		goto done;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) != 0) {
		diag_set(diag, strerror(errno));
		st = errno == ENOENT ? WARD_ENOENT : WARD_EIO;
		goto done;
	}
	if (!S_ISREG(sb.st_mode)) {
		diag_set(diag, "not a regular file");
		st = WARD_EINVAL;
		goto done;
	}
	if ((uint64_t)sb.st_size > WARD_IMAGE_MAX_FILE) {
		diag_set(diag, "file larger than the image size limit (256 MiB): refused");
		st = WARD_ELIMIT;
		goto done;
	}
	size_t n = (size_t)sb.st_size, got = 0;
	buf = malloc(n ? n : 1);
	if (!buf) {
		st = WARD_ENOMEM;
		goto done;
	}
	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			diag_set(diag, r < 0 ? strerror(errno) : "file shrank while being read");
			st = WARD_EIO;
			goto done;
		}
		got += (size_t)r;
	}
	st = ward_image_hash_mem(buf, n, flags, out, diag);
done:
	if (fd >= 0)
		close(fd);
	free(buf);
	return st;
}
