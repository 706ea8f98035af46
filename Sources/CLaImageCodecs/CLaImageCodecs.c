// JPEG and PNG decoding for LaData. Both libraries report fatal errors through a callback that must not
// return: libjpeg's default calls exit(), libpng's default longjmps after printing. Here both callbacks
// record a status and message and longjmp back to the decode function, which frees what it allocated.
#include "CLaImageCodecs.h"

#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>
#include <png.h>

static void set_message(cla_image *out, const char *text) {
    snprintf(out->message, sizeof out->message, "%s", text);
}

static int too_large(size_t width, size_t height, size_t max_pixels) {
    if (width == 0 || height == 0) return 0;
    if (width > SIZE_MAX / 3 / height) return 1;
    return max_pixels != 0 && width * height > max_pixels;
}

// Whether `size` encoded bytes can plausibly hold width x height pixels. A file whose header claims far more pixels
// than its bytes can encode (a "decoding bomb": a few hundred bytes announcing 65500 x 2732) is refused before
// the pixel buffer is allocated. `pixels_per_byte` is generous: deflate cannot exceed about 1032:1, and the flattest
// baseline JPEG needs about one byte per 16 x 16 block; 16M pixels are always allowed.
static int implausible(size_t width, size_t height, size_t size, size_t pixels_per_byte) {
    if (width == 0 || height == 0) return 0;
    if (width > SIZE_MAX / height) return 1;
    size_t allowed = (size_t)16 << 20;
    if (size < (SIZE_MAX - allowed) / pixels_per_byte) allowed += size * pixels_per_byte; else allowed = SIZE_MAX;
    return width * height > allowed;
}

// MARK: - JPEG

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    int status;
    cla_image *out;
} cla_jpeg_error;

static int jpeg_status_for(int code) {
    switch (code) {
    case JERR_INPUT_EOF:
        return CLA_IMAGE_TRUNCATED;
    case JERR_BAD_PRECISION:
    case JERR_CONVERSION_NOTIMPL:
    case JERR_IMAGE_TOO_BIG:
    case JERR_NOT_COMPILED:
        return CLA_IMAGE_UNSUPPORTED;
    case JERR_OUT_OF_MEMORY:
        return CLA_IMAGE_NO_MEMORY;
    default:
        return CLA_IMAGE_MALFORMED;
    }
}

static void cla_jpeg_error_exit(j_common_ptr cinfo) {
    cla_jpeg_error *err = (cla_jpeg_error *)cinfo->err;
    char buffer[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, buffer);
    err->status = jpeg_status_for(cinfo->err->msg_code);
    set_message(err->out, buffer);
    longjmp(err->jump, 1);
}

// Warnings are ignored (like PIL), except running out of data while pixels are still needed: libjpeg would pad
// the image with gray and carry on, which silently hides a truncated file. That happens at the end of the data
// (JWRN_JPEG_EOF, "premature end of JPEG file") and when the entropy-coded data runs into a marker, such as an
// end-of-image marker appended to a cut file (JWRN_HIT_MARKER, "premature end of data segment").
static void cla_jpeg_emit_message(j_common_ptr cinfo, int level) {
    if (level < 0) {
        cinfo->err->num_warnings++;
        int code = cinfo->err->msg_code;
        if (code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER) {
            cla_jpeg_error *err = (cla_jpeg_error *)cinfo->err;
            err->status = CLA_IMAGE_TRUNCATED;
            set_message(err->out, code == JWRN_JPEG_EOF ? "JPEG data ends before the image is complete"
                                                        : "JPEG data ends before the image is complete (premature end of data segment)");
            longjmp(err->jump, 1);
        }
    }
}

static void cla_jpeg_output_message(j_common_ptr cinfo) { (void)cinfo; }

// PIL's CMYK -> RGB: R = (255 - K) - round(C * (255 - K) / 255); Adobe files store inverted samples.
static inline unsigned char muldiv255(unsigned a, unsigned b) {
    unsigned t = a * b + 128;
    return (unsigned char)(((t >> 8) + t) >> 8);
}

static void cmyk_to_rgb(const unsigned char *src, unsigned char *dst, int width, int inverted) {
    for (int x = 0; x < width; x++, src += 4, dst += 3) {
        unsigned c = src[0], m = src[1], y = src[2], k = src[3];
        if (inverted) { c = 255 - c; m = 255 - m; y = 255 - y; k = 255 - k; }
        unsigned nk = 255 - k;
        dst[0] = (unsigned char)(nk - muldiv255(c, nk));
        dst[1] = (unsigned char)(nk - muldiv255(m, nk));
        dst[2] = (unsigned char)(nk - muldiv255(y, nk));
    }
}

// The smallest N in 1 ... 8 with ceil(width * N / 8) >= min_width and ceil(height * N / 8) >= min_height
// (8: no scaling, also when neither constraint is given).
static int jpeg_scale_for(unsigned width, unsigned height, int min_width, int min_height) {
    if (min_width <= 0 && min_height <= 0) return 8;
    for (int n = 1; n < 8; n++) {
        unsigned long w = ((unsigned long)width * (unsigned long)n + 7) / 8;
        unsigned long h = ((unsigned long)height * (unsigned long)n + 7) / 8;
        if ((min_width <= 0 || w >= (unsigned long)min_width) && (min_height <= 0 || h >= (unsigned long)min_height))
            return n;
    }
    return 8;
}

static int decode_jpeg(const unsigned char *data, size_t size, size_t max_pixels, int min_width, int min_height,
                       cla_image *out, int probe) {
    struct jpeg_decompress_struct cinfo;
    cla_jpeg_error jerr;
    unsigned char *volatile pixels = NULL;
    unsigned char *volatile cmyk_row = NULL;

    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&jerr.pub);
    jerr.pub.error_exit = cla_jpeg_error_exit;
    jerr.pub.emit_message = cla_jpeg_emit_message;
    jerr.pub.output_message = cla_jpeg_output_message;
    jerr.status = CLA_IMAGE_MALFORMED;
    jerr.out = out;
    if (setjmp(jerr.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        free(cmyk_row);
        out->pixels = NULL;
        return jerr.status;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    out->width = out->original_width = (int)cinfo.image_width;
    out->height = out->original_height = (int)cinfo.image_height;
    out->scale_num = out->scale_denom = 1;
    out->source_channels = cinfo.num_components;
    out->bit_depth = cinfo.data_precision;
    out->format = CLA_IMAGE_FORMAT_JPEG;
    int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    out->converted = cmyk;
    if (probe) {
        jpeg_destroy_decompress(&cinfo);
        return CLA_IMAGE_OK;
    }
    if (too_large(cinfo.image_width, cinfo.image_height, max_pixels)) {
        jpeg_destroy_decompress(&cinfo);
        snprintf(out->message, sizeof out->message, "image of %ux%u pixels exceeds the limit of %zu pixels",
                 cinfo.image_width, cinfo.image_height, max_pixels);
        return CLA_IMAGE_UNSUPPORTED;
    }
    if (implausible(cinfo.image_width, cinfo.image_height, size, 256)) {
        jpeg_destroy_decompress(&cinfo);
        snprintf(out->message, sizeof out->message,
                 "header claims %ux%u pixels, more than %zu bytes of JPEG data can hold (a corrupt or hostile file)",
                 cinfo.image_width, cinfo.image_height, size);
        return CLA_IMAGE_MALFORMED;
    }
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    int scale = jpeg_scale_for(cinfo.image_width, cinfo.image_height, min_width, min_height);
    if (scale < 8) {
        // DCT-domain downscaling: each 8x8 block becomes scale x scale pixels (libjpeg-turbo: N/8, N in 1 ... 16).
        cinfo.scale_num = (unsigned)scale;
        cinfo.scale_denom = 8;
        out->scale_num = scale;
        out->scale_denom = 8;
    }
    jpeg_start_decompress(&cinfo);
    size_t width = cinfo.output_width, height = cinfo.output_height;
    out->width = (int)width;
    out->height = (int)height;
    if (cinfo.output_components != (cmyk ? 4 : 3)) {
        jpeg_destroy_decompress(&cinfo);
        set_message(out, "unexpected number of output components");
        return CLA_IMAGE_UNSUPPORTED;
    }
    pixels = malloc(width * height * 3 + 1);
    if (cmyk) cmyk_row = malloc(width * 4 + 1);
    if (!pixels || (cmyk && !cmyk_row)) {
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        free(cmyk_row);
        set_message(out, "out of memory");
        return CLA_IMAGE_NO_MEMORY;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        if (cmyk) {
            JSAMPROW row = cmyk_row;
            unsigned char *dst = pixels + (size_t)cinfo.output_scanline * width * 3;
            if (jpeg_read_scanlines(&cinfo, &row, 1) == 1) cmyk_to_rgb(cmyk_row, dst, (int)width, cinfo.saw_Adobe_marker);
        } else {
            JSAMPROW rows[16];
            JDIMENSION first = cinfo.output_scanline;
            int n = 0;
            for (; n < 16 && first + (JDIMENSION)n < cinfo.output_height; n++)
                rows[n] = pixels + ((size_t)first + (size_t)n) * width * 3;
            jpeg_read_scanlines(&cinfo, rows, (JDIMENSION)n);
        }
    }
    // All pixels are in; skip jpeg_finish_decompress so a file missing only its EOI marker still decodes.
    jpeg_destroy_decompress(&cinfo);
    free(cmyk_row);
    out->pixels = pixels;
    return CLA_IMAGE_OK;
}

// MARK: - PNG

typedef struct {
    const unsigned char *data;
    size_t size;
    size_t position;
    int status;
    cla_image *out;
} cla_png_source;

static void cla_png_error(png_structp png, png_const_charp message) {
    cla_png_source *source = (cla_png_source *)png_get_error_ptr(png);
    if (source->status == CLA_IMAGE_OK) source->status = CLA_IMAGE_MALFORMED;
    set_message(source->out, message ? message : "libpng error");
    png_longjmp(png, 1);
}

static void cla_png_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

static void cla_png_read(png_structp png, png_bytep destination, size_t count) {
    cla_png_source *source = (cla_png_source *)png_get_io_ptr(png);
    if (source->size - source->position < count) {
        source->status = CLA_IMAGE_TRUNCATED;
        png_error(png, "PNG data ends before the image is complete");
    }
    memcpy(destination, source->data + source->position, count);
    source->position += count;
}

// Walks the chunk list (length, type, data, CRC) up to IEND without trusting any length: a chunk that declares more
// bytes than the file holds (a 41-byte file announcing a 2 GB text chunk) is reported before libpng sees it, so
// nothing is allocated or skipped for it. Returns CLA_IMAGE_OK, CLA_IMAGE_MALFORMED (a chunk type that is not four
// letters, a length beyond 2^31 - 1) or CLA_IMAGE_TRUNCATED, with the message set.
static int check_png_chunks(const unsigned char *data, size_t size, cla_image *out) {
    size_t position = 8;
    while (position + 8 <= size) {
        uint32_t length = (uint32_t)data[position] << 24 | (uint32_t)data[position + 1] << 16 |
                          (uint32_t)data[position + 2] << 8 | (uint32_t)data[position + 3];
        const unsigned char *type = data + position + 4;
        int letters = 1;
        for (int i = 0; i < 4; i++) {
            unsigned char c = type[i];
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) letters = 0;
        }
        if (!letters || length > 0x7FFFFFFFu) {
            snprintf(out->message, sizeof out->message, "PNG chunk at byte %zu has an invalid type or length", position);
            return CLA_IMAGE_MALFORMED;
        }
        if ((size_t)length + 12 > size - position) {
            snprintf(out->message, sizeof out->message,
                     "PNG chunk %.4s at byte %zu declares %u bytes but only %zu remain (a truncated or hostile file)",
                     (const char *)type, position, length, size - position - 8);
            return CLA_IMAGE_TRUNCATED;
        }
        if (memcmp(type, "IEND", 4) == 0) return CLA_IMAGE_OK;
        position += (size_t)length + 12;
    }
    return CLA_IMAGE_OK;  // no IEND: libpng reports what is missing
}

static int decode_png(const unsigned char *data, size_t size, size_t max_pixels, cla_image *out, int probe) {
    cla_png_source source = {data, size, 0, CLA_IMAGE_OK, out};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &source, cla_png_error, cla_png_warning);
    if (!png) {
        set_message(out, "out of memory");
        return CLA_IMAGE_NO_MEMORY;
    }
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        set_message(out, "out of memory");
        return CLA_IMAGE_NO_MEMORY;
    }
    unsigned char *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(pixels);
        free(rows);
        out->pixels = NULL;
        return source.status == CLA_IMAGE_OK ? CLA_IMAGE_MALFORMED : source.status;
    }
    int chunks = check_png_chunks(data, size, out);
    if (chunks != CLA_IMAGE_OK) {
        png_destroy_read_struct(&png, &info, NULL);
        return chunks;
    }
    png_set_read_fn(png, &source, cla_png_read);
    // Ancillary chunks (text, ICC profiles, ...) are held in memory while reading: cap them, so a tiny file whose
    // chunk declares 2 GB is refused instead of allocated. Also cap the image size libpng itself accepts.
    png_set_chunk_malloc_max(png, (png_alloc_size_t)8 << 20);
    png_set_chunk_cache_max(png, 1000);
    png_set_user_limits(png, 1000000, 1000000);
    png_read_info(png, info);
    png_uint_32 width = png_get_image_width(png, info), height = png_get_image_height(png, info);
    int color_type = png_get_color_type(png, info);
    out->width = out->original_width = (int)width;
    out->height = out->original_height = (int)height;
    out->scale_num = out->scale_denom = 1;
    out->source_channels = png_get_channels(png, info);
    out->bit_depth = png_get_bit_depth(png, info);
    out->format = CLA_IMAGE_FORMAT_PNG;
    out->converted = color_type == PNG_COLOR_TYPE_PALETTE;
    if (probe) {
        png_destroy_read_struct(&png, &info, NULL);
        return CLA_IMAGE_OK;
    }
    if (too_large(width, height, max_pixels)) {
        png_destroy_read_struct(&png, &info, NULL);
        snprintf(out->message, sizeof out->message, "image of %ux%u pixels exceeds the limit of %zu pixels",
                 (unsigned)width, (unsigned)height, max_pixels);
        return CLA_IMAGE_UNSUPPORTED;
    }
    // Deflate inflates at most about 1032:1, and a pixel is at least one bit: more pixels than that are a lie.
    if (implausible(width, height, size, 1032 * 8)) {
        png_destroy_read_struct(&png, &info, NULL);
        snprintf(out->message, sizeof out->message,
                 "header claims %ux%u pixels, more than %zu bytes of PNG data can hold (a corrupt or hostile file)",
                 (unsigned)width, (unsigned)height, size);
        return CLA_IMAGE_MALFORMED;
    }
    // Palette -> RGB, gray below 8 bits -> 8 bits, 16 bits -> 8 bits with rounding, gray -> RGB by replication,
    // alpha (including a tRNS chunk) stripped, as PIL's convert("RGB") does: libpng delivers RGB rows straight
    // into the result, so no second copy of the pixels is needed.
    png_set_expand(png);
    if (out->bit_depth == 16) png_set_scale_16(png);
    png_set_gray_to_rgb(png);
    png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int channels = png_get_channels(png, info);
    size_t row_bytes = png_get_rowbytes(png, info);
    if (channels != 3 || row_bytes != (size_t)width * 3) {
        png_destroy_read_struct(&png, &info, NULL);
        set_message(out, "unexpected PNG layout after conversion");
        return CLA_IMAGE_UNSUPPORTED;
    }
    pixels = malloc((size_t)width * height * 3 + 1);
    rows = malloc(sizeof(png_bytep) * height + 1);
    if (!pixels || !rows) {
        png_destroy_read_struct(&png, &info, NULL);
        free(pixels);
        free(rows);
        set_message(out, "out of memory");
        return CLA_IMAGE_NO_MEMORY;
    }
    for (png_uint_32 y = 0; y < height; y++) rows[y] = pixels + (size_t)y * row_bytes;
    png_read_image(png, rows);
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    out->pixels = pixels;
    return CLA_IMAGE_OK;
}

// MARK: - Entry points

static cla_image_format sniff(const unsigned char *data, size_t size) {
    static const unsigned char png_signature[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) return CLA_IMAGE_FORMAT_JPEG;
    if (size >= 8 && memcmp(data, png_signature, 8) == 0) return CLA_IMAGE_FORMAT_PNG;
    return CLA_IMAGE_FORMAT_UNKNOWN;
}

static int run(const unsigned char *data, size_t size, size_t max_pixels, int min_width, int min_height,
               cla_image *out, int probe) {
    memset(out, 0, sizeof *out);
    if (!data || size == 0) {
        set_message(out, "empty input");
        return CLA_IMAGE_TRUNCATED;
    }
    switch (sniff(data, size)) {
    case CLA_IMAGE_FORMAT_JPEG:
        return decode_jpeg(data, size, max_pixels, min_width, min_height, out, probe);
    case CLA_IMAGE_FORMAT_PNG:
        return decode_png(data, size, max_pixels, out, probe);
    default:
        set_message(out, "not a JPEG or PNG image (unrecognised signature)");
        return CLA_IMAGE_UNKNOWN_FORMAT;
    }
}

int cla_image_decode(const unsigned char *data, size_t size, size_t max_pixels, cla_image *out) {
    return run(data, size, max_pixels, 0, 0, out, 0);
}

int cla_image_decode_scaled(const unsigned char *data, size_t size, size_t max_pixels, int min_width, int min_height,
                            cla_image *out) {
    return run(data, size, max_pixels, min_width, min_height, out, 0);
}

int cla_image_probe(const unsigned char *data, size_t size, cla_image *out) {
    return run(data, size, 0, 0, 0, out, 1);
}

void cla_image_free(cla_image *image) {
    if (!image) return;
    free(image->pixels);
    image->pixels = NULL;
}
