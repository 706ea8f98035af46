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
    /// Size in pixels.
    int width;
    int height;
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
