"""Reading the images a create call names, the way ShortAPI must: fetched URLs, data: URIs, base64.

Every image is decoded with Pillow and held to Kling's published limits (JPG or PNG, 10 MB, 300 px
sides, 2.5:1) before a job is accepted, so an image ShortAPI would refuse is refused at create
time, with a message naming which one, instead of failing a paid job later.
"""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import requests
from PIL import Image

from jobs.catalogue import decode_inline_image, image_problem
from lib.outbound import resolves_publicly

FETCH_TIMEOUT = 10
# a guard against filling memory, not a ShortAPI rule: the catalogue owns the real limits
MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024


class UnreadableImage(ValueError):
    """An image the simulator could not fetch or decode; the message says which and why."""


def frames_of(args: dict, remote=False) -> tuple[Image.Image, Image.Image | None]:
    """The start and end frames of checked `args`, after reading every element image too.
    `remote`: fetch only from public addresses, as ShortAPI on the internet can."""
    start = read(args["image"], "start frame (image)", remote)
    end = (read(args["image_tail"], "end frame (image_tail)", remote)
           if args.get("image_tail") else None)
    for number, element in enumerate(args.get("elements") or [], 1):
        read(element["frontal_image_url"], f"frontal image of element {number}", remote)
        for ref_number, ref in enumerate(element.get("reference_image_urls") or [], 1):
            read(ref, f"reference image {ref_number} of element {number}", remote)
    return start, end


def described(image: Image.Image) -> dict:
    """What the simulator's stats say about an image it received."""
    return {"format": image.format, "width": image.width, "height": image.height,
            "exif": bool(image.getexif()), "bytes": image.info.get("received_bytes")}


def sent_inline(args: dict) -> bool:
    """Whether every image of `args` travelled inside the request rather than as a URL."""
    values = [args.get("image"), args.get("image_tail")]
    for element in args.get("elements") or []:
        values += [element.get("frontal_image_url"), *(element.get("reference_image_urls") or [])]
    return not any(isinstance(v, str) and v.startswith(("http://", "https://")) for v in values)


def read(value: str, what: str, remote=False) -> Image.Image:
    if value.startswith(("http://", "https://")):
        if remote and not resolves_publicly(urlsplit(value).hostname or ""):
            raise UnreadableImage(f"The {what} could not be fetched: {urlsplit(value).hostname} "
                                  "is not an address on the public internet.")
        data = _fetch(value, what)
    else:
        data = decode_inline_image(value)
        if data is None:
            raise UnreadableImage(f"The {what} could not be read: it is neither an http(s) URL, "
                                  "a data:image/...;base64 URI nor base64.")
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    # Pillow signals a bad file with many exception types (OSError, SyntaxError, struct.error,
    # DecompressionBombError...); to ShortAPI they all mean the same thing
    except Exception as exc:
        raise UnreadableImage(f"The {what} could not be read as an image "
                              f"({type(exc).__name__}).") from None
    image.info["received_bytes"] = len(data)
    # Kling's own published limits, as the real service applies them
    problem = image_problem(image.format, len(data), image.width, image.height)
    if problem:
        raise UnreadableImage(f"The {what} breaks Kling's image limits: {problem}.")
    return image


def _fetch(url: str, what: str) -> bytes:
    try:
        with requests.get(url, timeout=FETCH_TIMEOUT, stream=True) as response:
            if response.status_code != 200:
                raise UnreadableImage(f"The {what} could not be read: its URL answered "
                                      f"HTTP {response.status_code}.")
            data = bytearray()
            for chunk in response.iter_content(64 * 1024):
                data += chunk
                if len(data) > MAX_DOWNLOAD_BYTES:
                    raise UnreadableImage(f"The {what} could not be read: it is larger than "
                                          f"{MAX_DOWNLOAD_BYTES // (1024 * 1024)} MB.")
    except requests.RequestException as exc:
        raise UnreadableImage(f"The {what} could not be fetched from its URL "
                              f"({type(exc).__name__}).") from None
    return bytes(data)
