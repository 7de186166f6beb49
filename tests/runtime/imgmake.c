/* imgmake.c: writes the image files of the image-folder tests (data.sh).
 *
 *   imgmake OUT.png|OUT.jpg WIDTH HEIGHT CHANNELS R[,G,B][+]   channels 1, 2 (gray with
 *                                                               alpha) or 3, 4 (RGB with alpha)
 *
 * Every pixel has the value(s) given; with a trailing '+' pixel (y, x) adds y + x to each, so
 * the image is not flat. JPEG is written at quality 100 (still lossy: tests compare with a
 * tolerance) and takes 1 or 3 channels. Exit 0, or 2 on bad arguments or a write error. */
#include <stdbool.h>
#include <stdio.h>

#include <jpeglib.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: imgmake OUT.png|OUT.jpg W H C V[,V,V][+]\n");
        return 2;
    }
    int w = atoi(argv[2]), h = atoi(argv[3]), c = atoi(argv[4]), v[4] = {0, 0, 0, 255};
    bool ramp = argv[5][strlen(argv[5]) - 1] == '+';
    sscanf(argv[5], "%d,%d,%d,%d", &v[0], &v[1], &v[2], &v[3]);
    if (w < 1 || h < 1 || c < 1 || c > 4 || w > 4096 || h > 4096)
        return 2;
    unsigned char *px = malloc((size_t)w * h * c);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++)
                px[((size_t)y * w + x) * c + k] =
                    (unsigned char)(v[k] + (ramp && k < 3 ? y + x : 0));
    bool jpg = strstr(argv[1], ".jpg") != NULL;
    if (!jpg) {
        png_image img;
        memset(&img, 0, sizeof img);
        img.version = PNG_IMAGE_VERSION;
        img.width = (png_uint_32)w;
        img.height = (png_uint_32)h;
        static const png_uint_32 formats[5] = {0, PNG_FORMAT_GRAY, PNG_FORMAT_GA, PNG_FORMAT_RGB,
                                               PNG_FORMAT_RGBA};
        img.format = formats[c];
        int ok = png_image_write_to_file(&img, argv[1], 0, px, 0, NULL);
        free(px);
        return ok ? 0 : 2;
    }
    if (c != 1 && c != 3)
        return 2;
    FILE *f = fopen(argv[1], "wb");
    if (!f)
        return 2;
    struct jpeg_compress_struct cinfo;
    struct jpeg_error_mgr err;
    cinfo.err = jpeg_std_error(&err);
    jpeg_create_compress(&cinfo);
    jpeg_stdio_dest(&cinfo, f);
    cinfo.image_width = (JDIMENSION)w;
    cinfo.image_height = (JDIMENSION)h;
    cinfo.input_components = c;
    cinfo.in_color_space = c == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, 100, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = px + (size_t)cinfo.next_scanline * w * c;
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    fclose(f);
    free(px);
    return 0;
}
