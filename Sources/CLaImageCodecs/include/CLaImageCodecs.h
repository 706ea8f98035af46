// JPEG (libjpeg-turbo) and PNG (libpng) decoding to 8-bit interleaved RGB, with every library error caught
// by setjmp/longjmp inside C so a corrupt or truncated file is reported, never fatal.
#ifndef CLA_IMAGE_CODECS_H
#define CLA_IMAGE_CODECS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Outcome of a decode or probe.
typedef enum {
    CLA_IMAGE_OK = 0,
    /// The bytes start with neither the JPEG nor the PNG signature.
    CLA_IMAGE_UNKNOWN_FORMAT = 1,
    /// The library rejected the content.
    CLA_IMAGE_MALFORMED = 2,
    /// The data ends before the image does.
    CLA_IMAGE_TRUNCATED = 3,
    /// A valid file using something not supported (e.g. 12-bit JPEG, an image too large).
    CLA_IMAGE_UNSUPPORTED = 4,
    /// Memory allocation failed.
    CLA_IMAGE_NO_MEMORY = 5,
} cla_image_status;

/// The container format.
typedef enum {
    CLA_IMAGE_FORMAT_UNKNOWN = 0,
    CLA_IMAGE_FORMAT_JPEG = 1,
    CLA_IMAGE_FORMAT_PNG = 2,
} cla_image_format;

/// A decoded (or probed) image.
typedef struct {
    /// width * height * 3 bytes, row-major interleaved RGB, or NULL (probe, or failure). Free with cla_image_free.
    unsigned char *pixels;
    /// Size in pixels of `pixels` (after any DCT scaling; equal to the original size otherwise).
    int width;
    int height;
    /// Size in pixels stored in the file's header (before any DCT scaling).
    int original_width;
    int original_height;
    /// The DCT scaling applied while decoding: `scale_num / scale_denom` (1/1 when the image was not scaled,
    /// N/8 with N in 1 ... 7 for a scaled JPEG). `width == ceil(original_width * scale_num / scale_denom)`.
    int scale_num;
    int scale_denom;
    /// Channels stored in the file: 1 gray, 2 gray+alpha, 3 RGB/YCbCr, 4 RGBA or CMYK/YCCK.
    int source_channels;
    /// Bits per sample in the file (8 or 16 for PNG; 1, 2, 4 for low-depth PNG; 8 for JPEG).
    int bit_depth;
    /// cla_image_format.
    int format;
    /// Nonzero for palette PNGs and CMYK/YCCK JPEGs (the colour model was converted).
    int converted;
    /// A description of the failure (empty on success).
    char message[200];
} cla_image;

/// Decodes a JPEG or PNG held in memory into 8-bit RGB (gray replicated, alpha dropped, palette expanded,
/// 16-bit scaled to 8-bit with rounding, CMYK converted).
/// @param data The encoded bytes.
/// @param size The number of bytes.
/// @param max_pixels Refuse images with more pixels than this (0: no limit) with CLA_IMAGE_UNSUPPORTED.
/// @param out Receives the result; on failure `pixels` is NULL and `message` says why.
/// @return A cla_image_status.
int cla_image_decode(const unsigned char *data, size_t size, size_t max_pixels, cla_image *out);

/// Decodes like `cla_image_decode`, but lets libjpeg(-turbo) downscale a JPEG in the DCT domain while decoding
/// (PIL's `Image.draft`): the smallest scale N/8, N in 1 ... 8, is chosen whose output is still at least
/// `min_width` x `min_height` (width ceil(original_width * N / 8), height likewise). A scale of N/8 skips most of
/// the inverse DCT, upsampling and colour-conversion work: each 8x8 block is reconstructed at NxN pixels from its
/// low-frequency coefficients, a good box-like low-pass filter. PNG images ignore the hint (decoded at full size).
/// The header is checked against `max_pixels` at its original size, and errors are reported exactly as by
/// `cla_image_decode`.
/// @param data The encoded bytes.
/// @param size The number of bytes.
/// @param max_pixels Refuse images with more pixels than this (0: no limit) with CLA_IMAGE_UNSUPPORTED.
/// @param min_width The smallest acceptable decoded width (0 or less: no constraint on the width).
/// @param min_height The smallest acceptable decoded height (0 or less: no constraint on the height). With both
///        constraints 0 the image is decoded at full size.
/// @param out Receives the result, including `original_width`, `original_height`, `scale_num` and `scale_denom`.
/// @return A cla_image_status.
int cla_image_decode_scaled(const unsigned char *data, size_t size, size_t max_pixels, int min_width, int min_height,
                            cla_image *out);

/// Reads only the header: width, height, channels, bit depth and format (`pixels` stays NULL).
/// @param data The encoded bytes (the first few kilobytes usually suffice).
/// @param size The number of bytes.
/// @param out Receives the result.
/// @return A cla_image_status.
int cla_image_probe(const unsigned char *data, size_t size, cla_image *out);

/// Frees the pixels of a decoded image (safe on NULL pixels).
/// @param image The image whose pixels to free.
void cla_image_free(cla_image *image);

#ifdef __cplusplus
}
#endif

#endif
