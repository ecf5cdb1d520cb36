"""The model catalogue: what each Kling image-to-video model accepts and what it costs.

This module is the single source of truth read by the composer form, server-side validation,
the price estimate (in Python and, through `as_client_json`, in the page), the ShortAPI request
builder and the simulator. It imports nothing from Django so the simulator can use it alone.
Adding a model is one `KlingModel` entry in `MODELS`.

Everything here speaks ShortAPI's wire format (see shared/shortapi/*.seed.txt): `duration` is a
string of whole seconds, storyboard shot durations are integers, booleans are JSON booleans.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

MAX_PROMPT_CHARS = 2500
MAX_SHOT_PROMPT_CHARS = 512
MAX_IMAGE_BYTES = 10 * 1024 * 1024
MIN_IMAGE_SIDE = 300
MAX_ASPECT = Decimal("2.5")
MONEY_STEP = Decimal("0.001")

SHOT_TYPES = {"intelligence": "Intelligent split", "customize": "Custom storyboard"}
MODE_LABELS = {"pro": "Professional", "std": "Standard"}


@dataclass(frozen=True)
class KlingModel:
    id: str
    label: str
    modes: tuple[str, ...]
    durations: tuple[int, ...]
    # USD per second of video, keyed by (mode, generate_audio)
    prices: dict[tuple[str, bool], Decimal]
    audio_required: bool
    end_frame: bool = True
    storyboard: bool = False
    max_shots: int = 0
    max_elements: int = 0
    max_element_references: int = 0
    default_mode: str = "pro"
    default_duration: int = 5
    args: frozenset[str] = field(default_factory=frozenset)

    def price_per_second(self, mode: str, audio: bool) -> Decimal:
        return self.prices[(mode, bool(audio))]

    def estimate(self, mode: str, duration: int, audio: bool) -> Decimal:
        """What a job should cost before it is sent: the price table times the duration."""
        return money(self.price_per_second(mode, audio) * duration)


MODELS: dict[str, KlingModel] = {
    m.id: m
    for m in (
        KlingModel(
            id="kwaivgi/kling-2.6/image-to-video",
            label="Kling 2.6",
            modes=("pro",),
            durations=(5, 10),
            prices={
                ("pro", False): Decimal("0.06"),
                ("pro", True): Decimal("0.12"),
            },
            audio_required=True,
            args=frozenset(
                {"mode", "prompt", "negative_prompt", "duration", "image", "image_tail",
                 "generate_audio"}
            ),
        ),
        KlingModel(
            id="kwaivgi/kling-3.0/image-to-video",
            label="Kling 3.0",
            modes=("pro", "std"),
            durations=tuple(range(3, 16)),
            prices={
                ("std", False): Decimal("0.143"),
                ("std", True): Decimal("0.214"),
                ("pro", False): Decimal("0.190"),
                ("pro", True): Decimal("0.286"),
            },
            audio_required=False,
            storyboard=True,
            max_shots=6,
            max_elements=3,
            max_element_references=3,
            args=frozenset(
                {"mode", "duration", "multi_shot", "shot_type", "prompt", "negative_prompt",
                 "multi_prompt", "image", "image_tail", "elements", "generate_audio"}
            ),
        ),
    )
}
DEFAULT_MODEL = "kwaivgi/kling-2.6/image-to-video"


class UnknownModel(KeyError):
    pass


def get(model_id: str) -> KlingModel:
    try:
        return MODELS[model_id]
    except KeyError:
        raise UnknownModel(model_id) from None


def money(value: Decimal) -> Decimal:
    return Decimal(value).quantize(MONEY_STEP, rounding=ROUND_HALF_UP)


def format_money(value: Decimal | None) -> str:
    """$0.715, $1.20: at least cents, thousandths only when they matter."""
    if value is None:
        return "—"
    value = money(value)
    text = f"{abs(value):.3f}"
    if text.endswith("0"):
        text = text[:-1]
    return f"{'-' if value < 0 else ''}${text}"


@dataclass(frozen=True)
class Shot:
    prompt: str
    duration: int


@dataclass(frozen=True)
class Element:
    frontal_image: str
    reference_images: tuple[str, ...] = ()


@dataclass(frozen=True)
class JobSpec:
    """A job as the user asked for it, with images already turned into wire strings."""

    model_id: str
    mode: str
    duration: int
    prompt: str
    image: str
    negative_prompt: str = ""
    generate_audio: bool = False
    image_tail: str = ""
    multi_shot: bool = False
    shot_type: str = "intelligence"
    shots: tuple[Shot, ...] = ()
    elements: tuple[Element, ...] = ()


def build_args(spec: JobSpec) -> dict:
    """The exact `args` object ShortAPI's seed page specifies for this spec, and nothing more."""
    model = get(spec.model_id)
    args: dict = {
        "mode": spec.mode,
        "duration": str(spec.duration),
        "image": spec.image,
        "generate_audio": bool(spec.generate_audio),
    }
    custom = model.storyboard and spec.multi_shot and spec.shot_type == "customize"
    if spec.prompt or not model.storyboard:
        args["prompt"] = spec.prompt
    if spec.negative_prompt:
        args["negative_prompt"] = spec.negative_prompt
    if model.storyboard:
        args["multi_shot"] = bool(spec.multi_shot)
        if spec.multi_shot:
            args["shot_type"] = spec.shot_type
        if custom:
            args["multi_prompt"] = [{"prompt": s.prompt, "duration": s.duration} for s in spec.shots]
        if spec.elements:
            args["elements"] = [
                {"frontal_image_url": e.frontal_image,
                 "reference_image_urls": list(e.reference_images)}
                for e in spec.elements
            ]
    if spec.image_tail and not (model.storyboard and spec.multi_shot):
        args["image_tail"] = spec.image_tail
    return args


@dataclass(frozen=True)
class Problem:
    """One rule an `args` object breaks: the arg it concerns and what to change, in plain words."""

    arg: str
    message: str


def check_args(model_id: str, args: dict) -> list[Problem]:
    """Every rule of the seed pages, applied to a wire `args` object.

    The composer form runs this on the args it is about to send, and the simulator runs it on
    what it receives, so both reject exactly what ShortAPI would.
    """
    try:
        model = get(model_id)
    except UnknownModel:
        return [Problem("model", f"“{model_id}” is not a model this studio offers.")]
    if not isinstance(args, dict):
        return [Problem("args", "The request has no settings for the video.")]
    problems: list[Problem] = []
    add = lambda arg, message: problems.append(Problem(arg, message))  # noqa: E731

    for arg in sorted(set(args) - model.args):
        add(arg, f"{model.label} does not accept “{arg}”.")

    mode = args.get("mode")
    if mode not in model.modes:
        offered = " or ".join(MODE_LABELS[m] for m in model.modes)
        add("mode", f"{model.label} offers the {offered} mode only.")

    duration = _whole_seconds(args.get("duration"))
    if duration is None or duration not in model.durations:
        add("duration", _duration_message(model))
        duration = None

    audio = args.get("generate_audio")
    if audio is None and model.audio_required:
        add("generate_audio", f"{model.label} needs to be told whether to generate audio.")
    elif audio is not None and not isinstance(audio, bool):
        add("generate_audio", "Audio must be switched on or off.")

    multi_shot = args.get("multi_shot", None)
    if model.storyboard:
        if not isinstance(multi_shot, bool):
            add("multi_shot", "Choose single shot or multi-shot.")
            multi_shot = False
    shot_type = args.get("shot_type", "intelligence")
    if model.storyboard and shot_type not in SHOT_TYPES:
        add("shot_type", "Choose intelligent split or a custom storyboard.")

    custom = bool(multi_shot) and shot_type == "customize"
    prompt = args.get("prompt", "")
    if not isinstance(prompt, str):
        add("prompt", "The prompt must be text.")
        prompt = ""
    if not prompt.strip() and not custom:
        add("prompt", "Write a prompt that describes the motion you want.")
    _check_length(add, "prompt", prompt, MAX_PROMPT_CHARS, "The prompt")
    negative = args.get("negative_prompt", "")
    if not isinstance(negative, str):
        add("negative_prompt", "The negative prompt must be text.")
    else:
        _check_length(add, "negative_prompt", negative, MAX_PROMPT_CHARS, "The negative prompt")

    if not isinstance(args.get("image"), str) or not args["image"]:
        add("image", "A start frame is required.")
    tail = args.get("image_tail")
    if tail is not None:
        if not model.end_frame:
            add("image_tail", f"{model.label} does not take an end frame.")
        elif multi_shot:
            add("image_tail", "An end frame cannot be used with multi-shot. Remove the end frame "
                              "or switch to a single shot.")
        elif not isinstance(tail, str) or not tail:
            add("image_tail", "The end frame is empty.")

    if "multi_prompt" in args:
        if not custom:
            add("multi_prompt", "Shots are only used with a custom storyboard.")
        else:
            _check_shots(add, model, args["multi_prompt"], duration)
    elif custom:
        add("multi_prompt", "A custom storyboard needs at least one shot.")

    if "elements" in args:
        _check_elements(add, model, args["elements"])
    return problems


def _whole_seconds(value) -> int | None:
    # isdigit() alone lets "²" through to int(), which raises; ShortAPI wants ASCII digits.
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def _duration_message(model: KlingModel) -> str:
    if len(model.durations) <= 3:
        choices = " or ".join(str(d) for d in model.durations)
        return f"{model.label} makes videos of {choices} seconds. Pick one of those."
    return (f"{model.label} makes videos of {model.durations[0]} to {model.durations[-1]} "
            "seconds. Pick a whole number of seconds in that range.")


def _check_length(add, arg, text, limit, what):
    if len(text) > limit:
        add(arg, f"{what} is {len(text):,} characters long; shorten it to {limit:,} or fewer.")


def _check_shots(add, model, shots, total):
    if not isinstance(shots, list) or not 1 <= len(shots) <= model.max_shots:
        count = len(shots) if isinstance(shots, list) else 0
        add("multi_prompt", f"A storyboard has 1 to {model.max_shots} shots; this one has {count}.")
        return
    durations = []
    for index, shot in enumerate(shots):
        arg = f"multi_prompt[{index}]"
        if not isinstance(shot, dict):
            add(arg, f"Shot {index + 1} is not a shot.")
            continue
        prompt = shot.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            add(f"{arg}.prompt", f"Shot {index + 1} needs a prompt.")
        else:
            _check_length(add, f"{arg}.prompt", prompt, MAX_SHOT_PROMPT_CHARS,
                          f"Shot {index + 1}'s prompt")
        seconds = shot.get("duration")
        if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 1:
            add(f"{arg}.duration", f"Shot {index + 1} must last at least 1 whole second.")
            continue
        if total is not None and seconds > total:
            add(f"{arg}.duration",
                f"Shot {index + 1} lasts {seconds} s, longer than the whole video ({total} s).")
        durations.append(seconds)
    if total is not None and len(durations) == len(shots) and sum(durations) != total:
        add("multi_prompt", f"The shots add up to {sum(durations)} s but the video is {total} s. "
                            "Make them add up exactly.")


def _check_elements(add, model, elements):
    if not model.max_elements:
        add("elements", f"{model.label} does not take elements.")
        return
    if not isinstance(elements, list) or len(elements) > model.max_elements:
        add("elements", f"A job can have at most {model.max_elements} elements.")
        return
    for index, element in enumerate(elements):
        arg = f"elements[{index}]"
        frontal = element.get("frontal_image_url") if isinstance(element, dict) else None
        if not isinstance(frontal, str) or not frontal:
            add(arg, f"Element {index + 1} needs a frontal image.")
            continue
        refs = element.get("reference_image_urls", [])
        if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
            add(f"{arg}.reference_image_urls", f"Element {index + 1}'s reference images are not "
                                               "images.")
        elif len(refs) > model.max_element_references:
            add(f"{arg}.reference_image_urls",
                f"Element {index + 1} has {len(refs)} reference images; it can have at most "
                f"{model.max_element_references}.")


KLING_IMAGE_FORMATS = ("JPEG", "PNG")


def takes_aspect(width: int, height: int) -> bool:
    """Whether Kling takes an image of this aspect: the long side at most MAX_ASPECT times the
    short one."""
    return bool(width and height) and (
        Fraction(max(width, height), min(width, height)) <= Fraction(MAX_ASPECT))


def shape_problem(width: int, height: int) -> str | None:
    """Whether Kling takes a W×H image: None when it does; else "too_small" (a side under
    MIN_IMAGE_SIDE) or "aspect" (the long side over MAX_ASPECT times the short one)."""
    if min(width, height) < MIN_IMAGE_SIDE:
        return "too_small"
    if not takes_aspect(width, height):
        return "aspect"
    return None


def image_problem(image_format: str | None, size_bytes: int, width: int, height: int) -> str | None:
    """What Kling's published image limits refuse about an image, or None: JPG or PNG, at most
    10 MB, each side at least 300 px, the long side at most 2.5 times the short one."""
    if image_format not in KLING_IMAGE_FORMATS:
        return f"it is {image_format or 'not an image'}, not a JPG or PNG"
    if size_bytes > MAX_IMAGE_BYTES:
        return f"it is {size_bytes:,} bytes, over {MAX_IMAGE_BYTES:,}"
    shape = shape_problem(width, height)
    if shape == "too_small":
        return f"it is {width}×{height}, under {MIN_IMAGE_SIDE} px on a side"
    if shape == "aspect":
        return f"it is {width}×{height}, beyond an aspect ratio of {MAX_ASPECT}:1"
    return None


def decode_inline_image(value: str) -> bytes | None:
    """The bytes of a `data:image/...;base64,` URI or raw base64 string, or None if neither."""
    if value.startswith("data:"):
        header, _, value = value.partition(",")
        if not header.endswith(";base64"):
            return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def as_client_json() -> dict:
    """What the composer page needs to offer options and show the estimate, from this table."""
    return {
        "models": [
            {
                "id": m.id,
                "label": m.label,
                "modes": [{"value": mode, "label": MODE_LABELS[mode]} for mode in m.modes],
                "defaultMode": m.default_mode,
                "durations": list(m.durations),
                "defaultDuration": m.default_duration,
                "audioRequired": m.audio_required,
                "endFrame": m.end_frame,
                "storyboard": m.storyboard,
                "maxShots": m.max_shots,
                "maxElements": m.max_elements,
                "maxElementReferences": m.max_element_references,
                "prices": {f"{mode}:{int(audio)}": str(price)
                           for (mode, audio), price in m.prices.items()},
            }
            for m in MODELS.values()
        ],
        "maxPromptChars": MAX_PROMPT_CHARS,
        "maxShotPromptChars": MAX_SHOT_PROMPT_CHARS,
        "maxImageBytes": MAX_IMAGE_BYTES,
    }
