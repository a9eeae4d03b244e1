#!/usr/bin/env bash
# Writes the small image fixtures of unusual formats that the tests decode. Needs Debian's imagemagick
# (apt-get install imagemagick); run from this folder: bash make_image_fixtures.sh
set -euo pipefail
IM=/usr/bin/convert
# 16-bit RGB PNG: left half red (65535, 0, 0), right half blue.
$IM -size 8x8 xc:red -size 8x8 xc:blue +append -depth 16 -define png:bit-depth=16 -define png:color-type=2 rgb16.png
# CMYK JPEG of pure green (C=100%, Y=100%).
$IM -size 16x16 xc:'cmyk(255,0,255,0)' -colorspace CMYK -quality 95 cmyk.jpg
# A single white pixel.
$IM -size 1x1 xc:white one-pixel.png
# A 16-bit grayscale PNG at mid gray.
$IM -size 8x8 xc:'gray(50%)' -depth 16 -define png:color-type=0 gray16.png
# Truncated files: the header is intact, the pixel data is cut off.
$IM -size 64x64 plasma:fractal -quality 90 full.jpg
head -c 600 full.jpg > truncated.jpg
$IM -size 64x64 plasma:fractal full.png
head -c 400 full.png > truncated.png
rm full.jpg full.png
