/* imgmake.c: writes the image files of the image-folder tests (data.sh).
 *
 *   imgmake OUT.png|OUT.jpg WIDTH HEIGHT CHANNELS R[,G,B][+] [trns|palette|badindex|scans]
 *       channels 1, 2 (gray with alpha) or 3, 4 (RGB with alpha); trns: a gray or RGB PNG
 *       with a tRNS chunk that marks the first pixel's value transparent; palette: an RGB
 *       image stored as palette indices, its first entry marked transparent (tRNS);
 *       badindex: the same with the last colour left out of the palette (an invalid PNG:
 *       its pixels' indices pass the palette); scans: a gray progressive JPEG of 704
 *       scans, every coefficient on its own, refined one bit at a time
 *
 * Every pixel has the value(s) given; with a trailing '+' pixel (y, x) adds y + x to each, so
 * the image is not flat. JPEG is written at quality 100 (still lossy: tests compare with a
 * tolerance) and takes 1, 3 or 4 channels (4: CMYK). Exit 0, or 2 on bad arguments or a
 * write error. */
#include <stdbool.h>
#include <stdio.h>

#include <jpeglib.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>

/* A PNG with a tRNS chunk, through libpng's low-level writer (the simplified API writes
 * none): mode "trns" keeps the samples and marks the first pixel's value transparent;
 * "palette" stores the RGB pixels as indices into a palette of their distinct colours (at
 * most 256), the first entry transparent. */
static int write_trns(const char *path, const unsigned char *px, int w, int h, int c,
                      const char *mode)
{
    bool badindex = !strcmp(mode, "badindex"), pal = badindex || !strcmp(mode, "palette");
    if ((!pal && strcmp(mode, "trns")) || (pal && c != 3))
        return 2;
    png_color colours[256];
    int ncol = 0;
    unsigned char *volatile idx = malloc((size_t)w * h);
    for (size_t i = 0; pal && i < (size_t)w * h; i++) {
        const unsigned char *q = px + 3 * i;
        int k = 0;
        while (k < ncol &&
               (colours[k].red != q[0] || colours[k].green != q[1] || colours[k].blue != q[2]))
            k++;
        if (k == ncol) {
            if (ncol == 256) {
                free(idx);
                return 2;
            }
            colours[ncol++] = (png_color){q[0], q[1], q[2]};
        }
        idx[i] = (unsigned char)k;
    }
    FILE *f = fopen(path, "wb");
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = p ? png_create_info_struct(p) : NULL;
    if (!f || !info || setjmp(png_jmpbuf(p))) {
        if (f)
            fclose(f);
        free(idx);
        return 2;
    }
    png_init_io(p, f);
    if (badindex) { /* libpng would refuse to write the indices past the palette */
        png_set_check_for_invalid_index(p, -1);
        if (ncol < 2) {
            fclose(f);
            free(idx);
            return 2;
        }
        ncol--;
    }
    png_set_IHDR(p, info, (png_uint_32)w, (png_uint_32)h, 8,
                 pal      ? PNG_COLOR_TYPE_PALETTE
                 : c == 1 ? PNG_COLOR_TYPE_GRAY
                          : PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (pal) {
        png_byte alpha[1] = {0};
        png_set_PLTE(p, info, colours, ncol);
        png_set_tRNS(p, info, alpha, 1, NULL);
    } else {
        png_color_16 key = {
            .gray = px[0], .red = px[0], .green = px[c > 1], .blue = px[c > 2 ? 2 : 0]};
        png_set_tRNS(p, info, NULL, 0, &key);
    }
    png_write_info(p, info);
    for (int y = 0; y < h; y++)
        png_write_row(p, pal ? idx + (size_t)y * w : px + (size_t)y * w * c);
    png_write_end(p, NULL);
    png_destroy_write_struct(&p, &info);
    fclose(f);
    free(idx);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 6 && argc != 7) {
        fprintf(stderr, "usage: imgmake OUT.png|OUT.jpg W H C V[,V,V][+] [trns|palette]\n");
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
    bool scans = argc == 7 && !strcmp(argv[6], "scans");
    if (argc == 7 && !scans) {
        int r = jpg || (c != 1 && c != 3) ? 2 : write_trns(argv[1], px, w, h, c, argv[6]);
        free(px);
        return r;
    }
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
    if (c == 2 || (scans && c != 1))
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
    cinfo.in_color_space = c == 1 ? JCS_GRAYSCALE : c == 4 ? JCS_CMYK : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, 100, TRUE);
    /* the DC and each of the 63 AC coefficients first at 10 bits (libjpeg's most), then refined one
     * bit a scan: 704 scans */
    static jpeg_scan_info script[64 * 11];
    if (scans) {
        int n = 0;
        for (int k = 0; k < 64; k++)
            for (int al = 10; al >= 0; al--)
                script[n++] = (jpeg_scan_info){.comps_in_scan = 1,
                                               .component_index = {0},
                                               .Ss = k,
                                               .Se = k,
                                               .Ah = al == 10 ? 0 : al + 1,
                                               .Al = al};
        cinfo.scan_info = script;
        cinfo.num_scans = n;
    }
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
