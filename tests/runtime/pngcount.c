/* pngcount.c: counts the pixels of given colours in a PNG, for the tests of the SVG pictures
 * (rendered by rsvg-convert first).
 *
 *   pngcount FILE.png RRGGBB...   prints "WIDTHxHEIGHT" and then, for each colour, the number
 *                                 of pixels within 24 of it in every channel
 *
 * Exit 0, or 2 when the file is not a PNG libpng reads. */
#include <png.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: pngcount FILE.png RRGGBB...\n");
        return 2;
    }
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&img, argv[1])) {
        fprintf(stderr, "pngcount: %s: %s\n", argv[1], img.message);
        return 2;
    }
    img.format = PNG_FORMAT_RGB; /* composed over a white background below */
    png_color white = {255, 255, 255};
    size_t size = PNG_IMAGE_SIZE(img);
    unsigned char *px = malloc(size);
    if (!px || !png_image_finish_read(&img, &white, px, 0, NULL)) {
        fprintf(stderr, "pngcount: %s: %s\n", argv[1], px ? img.message : "out of memory");
        free(px);
        return 2;
    }
    printf("%ux%u", img.width, img.height);
    for (int c = 2; c < argc; c++) {
        unsigned rgb = (unsigned)strtoul(argv[c], NULL, 16);
        int want[3] = {(int)(rgb >> 16) & 255, (int)(rgb >> 8) & 255, (int)rgb & 255};
        long n = 0;
        for (size_t i = 0; i + 2 < size; i += 3) {
            bool near = true;
            for (int k = 0; k < 3; k++)
                near = near && abs(px[i + (size_t)k] - want[k]) <= 24;
            n += near;
        }
        printf(" %ld", n);
    }
    putchar('\n');
    free(px);
    return 0;
}
