"""A corpus of hostile and awkward images, made on the spot: each a (name, bytes, content type).

Used by tests/test_uploads.py (every case through the upload check) and
tests/test_hostile_end_to_end.py (the refused ones through the real stack, proving nothing
reaches ShortAPI). Below them, the files aimed at the surfaces added with teams and sequences
(tests/test_hostile_surfaces.py, and the hostile benchmark in tests/benchmarks.py).
"""

import io
import random
import struct
import zipfile
import zlib

from PIL import Image, PngImagePlugin

TEN_MB = 10 * 1024 * 1024


def _save(image, fmt, **options):
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def photo(width=800, height=500, fmt="JPEG", mode="RGB", **options):
    """A picture with structure (a gradient and a bright square), so any turn or crop shows."""
    image = Image.linear_gradient("L").resize((width, height)).convert(mode if mode != "CMYK"
                                                                         else "RGB")
    image.paste(Image.new(image.mode, (width // 5, height // 5), "white"), (0, 0))
    if mode == "CMYK":
        image = image.convert("CMYK")
    return _save(image, fmt, **options)


def _chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def png_bomb(side=12_000):
    """A PNG of a few hundred KB that decodes to side×side grey pixels (144 MB at 12,000)."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (side + 1)  # filter byte, then the pixels
    body = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", body)
            + _chunk(b"IEND", b""))


def gif_bomb(side=30_000):
    """A tiny GIF whose header declares a side×side screen."""
    small = _save(Image.new("P", (1, 1)), "GIF")
    return small[:6] + struct.pack("<HH", side, side) + small[10:]


def webp_bomb(side=9_000):
    """A lossless WebP whose header declares side×side pixels (its data is a 1×1 image's)."""
    small = bytearray(_save(Image.new("RGB", (1, 1), "red"), "WEBP", lossless=True))
    at = small.index(b"VP8L") + 8 + 1  # after the chunk header and the 0x2f signature
    bits = (side - 1) | ((side - 1) << 14) | (int.from_bytes(small[at:at + 4], "little")
                                              & ~((1 << 28) - 1))
    small[at:at + 4] = bits.to_bytes(4, "little")
    return bytes(small)


def polyglot_html():
    return photo() + b"<html><body><script>alert(document.cookie)</script></body></html>"


def polyglot_zip():
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("payload.txt", "not for ShortAPI")
    return photo() + archive.getvalue()


def png_with_trailing_data():
    return photo(fmt="PNG") + b"TRAILING-DATA-AFTER-IEND" * 10


def svg_named_png():
    return (b'<svg xmlns="http://www.w3.org/2000/svg" width="800" height="500">'
            b'<script>alert(1)</script><rect width="800" height="500"/></svg>')


def html_named_png():
    return b"<!doctype html><html><script>alert(1)</script></html>"


def truncated_jpeg():
    whole = photo(1600, 1000, quality=95)
    return whole[: len(whole) // 2]


def animated(fmt):
    frames = [Image.new("RGB", (640, 400), colour) for colour in ("red", "blue", "green")]
    return _save(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)


def sixteen_bit_png():
    image = Image.linear_gradient("L").resize((640, 400)).convert("I")
    image = image.point(lambda value: value * 257)  # 0..65535
    info = PngImagePlugin.PngInfo()
    return _save(image.convert("I;16"), "PNG", pnginfo=info)


def exif_rotated():
    """Stored 500 wide and 800 tall, with EXIF saying: turn it a quarter to stand upright."""
    image = Image.open(io.BytesIO(photo(500, 800)))
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise to view
    return _save(image, "JPEG", exif=exif.tobytes())


def gps_tagged():
    image = Image.open(io.BytesIO(photo()))
    exif = image.getexif()
    exif[0x010F] = "PhoneMaker"  # camera make
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (48.0, 51.0, 30.0), 3: "E", 4: (2.0, 17.0, 40.0)})
    return _save(image, "JPEG", exif=exif.tobytes())


def with_icc_profile():
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return _save(Image.open(io.BytesIO(photo())), "JPEG", icc_profile=profile), profile


def over_ten_mb():
    content = photo(fmt="PNG")
    return content + b"\0" * (TEN_MB + 1 - len(content))


def huge_photo():
    """24 megapixels: allowed, and scaled down on the way in."""
    return photo(6000, 4000, quality=85)


# name, bytes, content type the browser claims, and whether it is refused
REFUSED = {
    "png-bomb": ("bomb.png", png_bomb, "image/png"),
    "gif-bomb": ("bomb.gif", gif_bomb, "image/gif"),
    "webp-bomb": ("bomb.webp", webp_bomb, "image/webp"),
    "svg-as-png": ("drawing.png", svg_named_png, "image/png"),
    "html-as-png": ("page.png", html_named_png, "image/png"),
    "truncated": ("cut.jpg", truncated_jpeg, "image/jpeg"),
    "zero-bytes": ("empty.png", lambda: b"", "image/png"),
    "animated-gif": ("moving.gif", lambda: animated("GIF"), "image/gif"),
    "animated-webp": ("moving.webp", lambda: animated("WEBP"), "image/webp"),
    "too-wide": ("wide.png", lambda: photo(1000, 300, fmt="PNG"), "image/png"),
    "too-tall": ("tall.png", lambda: photo(300, 1000, fmt="PNG"), "image/png"),
    "299-px": ("small.png", lambda: photo(299, 600, fmt="PNG"), "image/png"),
    "10-mb-and-a-byte": ("big.png", over_ten_mb, "image/png"),
}
CLEANED = {
    "jpeg-html-polyglot": ("photo.jpg", polyglot_html, "image/jpeg"),
    "jpeg-zip-polyglot": ("photo.jpg", polyglot_zip, "image/jpeg"),
    "png-trailing-data": ("photo.png", png_with_trailing_data, "image/png"),
    "cmyk-jpeg": ("print.jpg", lambda: photo(mode="CMYK"), "image/jpeg"),
    "16-bit-png": ("scan.png", sixteen_bit_png, "image/png"),
    "exif-rotated": ("rotated.jpg", exif_rotated, "image/jpeg"),
    "gps-tagged": ("holiday.jpg", gps_tagged, "image/jpeg"),
    "24-megapixels": ("camera.jpg", huge_photo, "image/jpeg"),
}


# The surfaces added with teams and sequences (tests/test_hostile_surfaces.py)


def noisy_photo(width=2048, height=1152):
    """A photo-sized JPEG that does not compress away (a few MB once staged)."""
    rng = random.Random(7)
    image = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def strip(width=2048):
    """A PNG of under 100 bytes, one pixel high: an upscale to Kling's minimum would make it
    614,400 × 300."""
    return _save(Image.new("RGB", (width, 1), (200, 60, 40)), "PNG")


def _box(kind, body):
    return struct.pack(">I4s", 8 + len(body), kind) + body


def sdp_in_an_mp4_header():
    """About 150 bytes: an `ftyp` box, then a session description that FFmpeg's probe would
    take for a stream to receive over the network."""
    return (b"\x00\x00\x00\x14ftypisom\x00\x00\x02\x00isom\r\n"
            b"v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            b"m=video 45004 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n")


def mp4_with_comment(text):
    """The boxes an MP4 keeps its comment in, with no picture: enough for the reader."""
    data = _box(b"data", b"\x00\x00\x00\x01\x00\x00\x00\x00" + text.encode())
    meta = _box(b"meta", b"\x00\x00\x00\x00" + _box(b"ilst", _box(b"\xa9cmt", data)))
    return _box(b"ftyp", b"isom\x00\x00\x02\x00") + _box(b"moov", _box(b"udta", meta))
