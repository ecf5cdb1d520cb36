"""The model catalogue: every rule of the seed pages, the request builder, prices and estimates.

Each rule test starts from args that pass and breaks exactly one rule, so deleting that rule from
`catalogue.check_args` makes its test fail.
"""

import base64
from decimal import Decimal

import pytest

from jobs import catalogue
from jobs.catalogue import Element, JobSpec, Shot, build_args, check_args

KLING_26 = "kwaivgi/kling-2.6/image-to-video"
KLING_30 = "kwaivgi/kling-3.0/image-to-video"
IMAGE = "https://example.com/start.png"
TAIL = "https://example.com/end.png"

# CONTRACT.md's price table, copied by hand: USD per second by (model, mode, audio).
CONTRACT_PRICES = {
    (KLING_26, "pro", False): Decimal("0.06"),
    (KLING_26, "pro", True): Decimal("0.12"),
    (KLING_30, "std", False): Decimal("0.143"),
    (KLING_30, "std", True): Decimal("0.214"),
    (KLING_30, "pro", False): Decimal("0.190"),
    (KLING_30, "pro", True): Decimal("0.286"),
}
CONTRACT_DURATIONS = {KLING_26: [5, 10], KLING_30: list(range(3, 16))}
DROP = object()  # in a change: leave this arg out


def kling_26(**changes):
    args = {"mode": "pro", "prompt": "A slow pan", "duration": "5", "image": IMAGE,
            "generate_audio": False}
    return _apply(args, changes)


def kling_30(**changes):
    args = {"mode": "std", "prompt": "A slow pan", "duration": "5", "multi_shot": False,
            "image": IMAGE}
    return _apply(args, changes)


def storyboard(**changes):
    """Kling 3.0 with a valid custom storyboard of two shots adding up to 5 s."""
    args = {"mode": "pro", "duration": "5", "multi_shot": True, "shot_type": "customize",
            "image": IMAGE,
            "multi_prompt": [{"prompt": "The door opens", "duration": 2},
                             {"prompt": "A cat walks in", "duration": 3}]}
    return _apply(args, changes)


def _apply(args, changes):
    for name, value in changes.items():
        if value is DROP:
            args.pop(name, None)
        else:
            args[name] = value
    return args


def args_of(problems):
    return [p.arg for p in problems]


def only_problem(model_id, args):
    """The one problem these args have; fails if they have none or several."""
    problems = check_args(model_id, args)
    assert len(problems) == 1, problems
    return problems[0]


def shots(*durations, prompt="A shot"):
    return [{"prompt": prompt, "duration": d} for d in durations]


# Valid starting points


@pytest.mark.parametrize("model_id, args", [
    (KLING_26, kling_26()),
    (KLING_26, kling_26(generate_audio=True, negative_prompt="blur", image_tail=TAIL,
                        duration="10")),
    (KLING_30, kling_30()),
    (KLING_30, kling_30(mode="pro", generate_audio=True, image_tail=TAIL, duration="15")),
    (KLING_30, kling_30(multi_shot=True, shot_type="intelligence")),
    (KLING_30, storyboard()),
    (KLING_30, storyboard(prompt="", generate_audio=False)),
    (KLING_30, kling_30(elements=[{"frontal_image_url": IMAGE,
                                   "reference_image_urls": [IMAGE, IMAGE, IMAGE]}] * 3)),
], ids=["2.6", "2.6-full", "3.0", "3.0-full", "3.0-intelligence", "3.0-customize",
        "3.0-customize-empty-prompt", "3.0-elements"])
def test_it_finds_no_problem_in_valid_args(model_id, args):
    assert check_args(model_id, args) == []


# Model and args


def test_it_rejects_an_unknown_model():
    problems = check_args("kwaivgi/kling-9.9/image-to-video", kling_26())
    assert args_of(problems) == ["model"]
    assert "kling-9.9" in problems[0].message


def test_it_rejects_an_arg_the_model_does_not_accept():
    problem = only_problem(KLING_26, kling_26(seed=42))
    assert problem.arg == "seed"
    assert "does not accept" in problem.message


def test_it_rejects_storyboard_args_on_kling_26():
    problems = check_args(KLING_26, kling_26(multi_shot=False))
    assert args_of(problems) == ["multi_shot"]


# Mode


def test_it_rejects_the_standard_mode_on_kling_26():
    problem = only_problem(KLING_26, kling_26(mode="std"))
    assert problem.arg == "mode"
    assert "Professional" in problem.message


def test_it_rejects_a_missing_mode():
    assert only_problem(KLING_30, kling_30(mode=DROP)).arg == "mode"


# Duration


@pytest.mark.parametrize("model_id, args", [
    (KLING_26, kling_26(duration="7")),
    (KLING_26, kling_26(duration="15")),
    (KLING_30, kling_30(duration="2")),
    (KLING_30, kling_30(duration="16")),
    (KLING_30, kling_30(duration="0")),
    (KLING_26, kling_26(duration=5)),
    (KLING_30, kling_30(duration=5)),
    (KLING_30, kling_30(duration="5.0")),
    (KLING_30, kling_30(duration="")),
    (KLING_30, kling_30(duration=DROP)),
], ids=["2.6-7", "2.6-15", "3.0-2", "3.0-16", "3.0-0", "2.6-int", "3.0-int", "3.0-decimal",
        "3.0-empty", "3.0-missing"])
def test_it_rejects_a_duration_the_model_does_not_make(model_id, args):
    problem = only_problem(model_id, args)
    assert problem.arg == "duration"
    assert "seconds" in problem.message


def test_it_names_the_choices_in_a_duration_problem():
    assert "5 or 10 seconds" in only_problem(KLING_26, kling_26(duration="7")).message
    assert "3 to 15 seconds" in only_problem(KLING_30, kling_30(duration="16")).message


@pytest.mark.parametrize("duration", ["²", "٥", "５"])
def test_it_rejects_a_duration_in_non_ascii_digits_without_crashing(duration):
    assert only_problem(KLING_30, kling_30(duration=duration)).arg == "duration"


@pytest.mark.parametrize("duration", ["3", "9", "15"])
def test_it_accepts_every_whole_second_from_3_to_15_on_kling_30(duration):
    assert check_args(KLING_30, kling_30(duration=duration)) == []


# Audio


def test_it_requires_generate_audio_on_kling_26():
    problem = only_problem(KLING_26, kling_26(generate_audio=DROP))
    assert problem.arg == "generate_audio"
    assert "audio" in problem.message


def test_it_lets_kling_30_leave_out_generate_audio():
    args = kling_30()
    assert "generate_audio" not in args
    assert check_args(KLING_30, args) == []


@pytest.mark.parametrize("model_id, args", [
    (KLING_26, kling_26(generate_audio="true")),
    (KLING_26, kling_26(generate_audio=1)),
    (KLING_30, kling_30(generate_audio="false")),
])
def test_it_rejects_a_generate_audio_that_is_not_a_bool(model_id, args):
    assert only_problem(model_id, args).arg == "generate_audio"


# Multi-shot and shot type


@pytest.mark.parametrize("value", [DROP, "false", 0, None])
def test_it_requires_multi_shot_as_a_bool_on_kling_30(value):
    problem = only_problem(KLING_30, kling_30(multi_shot=value))
    assert problem.arg == "multi_shot"
    assert "multi-shot" in problem.message


def test_it_rejects_an_unknown_shot_type():
    problem = only_problem(KLING_30, kling_30(multi_shot=True, shot_type="random"))
    assert problem.arg == "shot_type"
    assert "custom storyboard" in problem.message


# Prompt


@pytest.mark.parametrize("model_id, args", [
    (KLING_26, kling_26(prompt="")),
    (KLING_26, kling_26(prompt=DROP)),
    (KLING_26, kling_26(prompt="   \n")),
    (KLING_30, kling_30(prompt="")),
    (KLING_30, kling_30(prompt=DROP)),
    (KLING_30, kling_30(multi_shot=True, shot_type="intelligence", prompt="")),
    (KLING_30, kling_30(multi_shot=True, shot_type=DROP, prompt="")),
], ids=["2.6-empty", "2.6-missing", "2.6-blank", "3.0-single-empty", "3.0-single-missing",
        "3.0-intelligence-empty", "3.0-default-shot-type-empty"])
def test_it_rejects_an_empty_prompt_unless_the_storyboard_is_custom(model_id, args):
    problem = only_problem(model_id, args)
    assert problem.arg == "prompt"
    assert "Write a prompt" in problem.message


def test_it_allows_an_empty_prompt_with_a_custom_storyboard():
    assert check_args(KLING_30, storyboard(prompt="")) == []
    assert check_args(KLING_30, storyboard(prompt=DROP)) == []


def test_it_rejects_a_prompt_that_is_not_text():
    problems = check_args(KLING_26, kling_26(prompt=["A slow pan"]))
    assert set(args_of(problems)) == {"prompt"}
    assert any("must be text" in p.message for p in problems)


@pytest.mark.parametrize("model_id, base", [(KLING_26, kling_26), (KLING_30, kling_30)])
def test_it_rejects_a_prompt_over_2500_characters(model_id, base):
    problem = only_problem(model_id, base(prompt="a" * 2501))
    assert problem.arg == "prompt"
    assert "2,501" in problem.message and "2,500 or fewer" in problem.message


@pytest.mark.parametrize("model_id, base", [(KLING_26, kling_26), (KLING_30, kling_30)])
def test_it_accepts_a_prompt_of_exactly_2500_characters(model_id, base):
    assert check_args(model_id, base(prompt="a" * 2500)) == []


def test_it_rejects_a_negative_prompt_over_2500_characters():
    problem = only_problem(KLING_30, kling_30(negative_prompt="b" * 2501))
    assert problem.arg == "negative_prompt"
    assert "shorten it to 2,500" in problem.message
    assert check_args(KLING_30, kling_30(negative_prompt="b" * 2500)) == []


def test_it_rejects_a_negative_prompt_that_is_not_text():
    assert only_problem(KLING_26, kling_26(negative_prompt=7)).arg == "negative_prompt"


# Frames


@pytest.mark.parametrize("model_id, args", [
    (KLING_26, kling_26(image=DROP)),
    (KLING_26, kling_26(image="")),
    (KLING_30, kling_30(image=DROP)),
    (KLING_30, kling_30(image=None)),
])
def test_it_requires_a_start_image(model_id, args):
    problem = only_problem(model_id, args)
    assert problem.arg == "image"
    assert "start frame" in problem.message


@pytest.mark.parametrize("args", [
    kling_30(multi_shot=True, shot_type="intelligence", image_tail=TAIL),
    storyboard(image_tail=TAIL),
], ids=["intelligence", "customize"])
def test_it_rejects_an_end_frame_with_multi_shot(args):
    problem = only_problem(KLING_30, args)
    assert problem.arg == "image_tail"
    assert "multi-shot" in problem.message


def test_it_rejects_an_empty_end_frame():
    assert only_problem(KLING_26, kling_26(image_tail="")).arg == "image_tail"


# Storyboard


def test_it_rejects_shots_without_a_custom_storyboard():
    intelligence = kling_30(multi_shot=True, shot_type="intelligence", multi_prompt=shots(5))
    problem = only_problem(KLING_30, intelligence)
    assert problem.arg == "multi_prompt"
    assert "custom storyboard" in problem.message
    single = kling_30(multi_shot=False, shot_type="customize", multi_prompt=shots(5))
    assert only_problem(KLING_30, single).arg == "multi_prompt"


def test_it_rejects_a_custom_storyboard_without_shots():
    problem = only_problem(KLING_30, storyboard(multi_prompt=DROP))
    assert problem.arg == "multi_prompt"
    assert "at least one shot" in problem.message


@pytest.mark.parametrize("multi_prompt, duration, count", [
    ([], "5", 0),
    (shots(1, 1, 1, 1, 1, 1, 1), "7", 7),
])
def test_it_rejects_a_storyboard_of_0_or_7_shots(multi_prompt, duration, count):
    problem = only_problem(KLING_30, storyboard(multi_prompt=multi_prompt, duration=duration))
    assert problem.arg == "multi_prompt"
    assert f"1 to 6 shots; this one has {count}" in problem.message


def test_it_accepts_a_storyboard_of_6_shots():
    assert check_args(KLING_30, storyboard(multi_prompt=shots(1, 1, 1, 1, 1, 1),
                                           duration="6")) == []


def test_it_rejects_a_storyboard_that_is_not_a_list():
    assert only_problem(KLING_30, storyboard(multi_prompt="two shots")).arg == "multi_prompt"


@pytest.mark.parametrize("seconds", [0, -1, "2", 2.5, True])
def test_it_rejects_a_shot_that_does_not_last_a_whole_second(seconds):
    multi_prompt = [{"prompt": "The door opens", "duration": seconds},
                    {"prompt": "A cat walks in", "duration": 5}]
    problem = only_problem(KLING_30, storyboard(multi_prompt=multi_prompt))
    assert problem.arg == "multi_prompt[0].duration"
    assert "at least 1 whole second" in problem.message


def test_it_rejects_a_shot_longer_than_the_whole_video():
    problems = check_args(KLING_30, storyboard(multi_prompt=shots(6)))
    longer = [p for p in problems if p.arg == "multi_prompt[0].duration"]
    assert len(longer) == 1
    assert "longer than the whole video (5 s)" in longer[0].message


def test_it_accepts_one_shot_as_long_as_the_video():
    assert check_args(KLING_30, storyboard(multi_prompt=shots(5))) == []


@pytest.mark.parametrize("durations, total", [((2, 2), 4), ((3, 3), 6)], ids=["below", "above"])
def test_it_rejects_shots_that_do_not_add_up_to_the_duration(durations, total):
    problem = only_problem(KLING_30, storyboard(multi_prompt=shots(*durations)))
    assert problem.arg == "multi_prompt"
    assert f"add up to {total} s but the video is 5 s" in problem.message


def test_it_rejects_a_shot_prompt_over_512_characters():
    multi_prompt = [{"prompt": "p" * 513, "duration": 2}, {"prompt": "ok", "duration": 3}]
    problem = only_problem(KLING_30, storyboard(multi_prompt=multi_prompt))
    assert problem.arg == "multi_prompt[0].prompt"
    assert "513" in problem.message and "512 or fewer" in problem.message


def test_it_accepts_a_shot_prompt_of_512_characters():
    multi_prompt = [{"prompt": "p" * 512, "duration": 2}, {"prompt": "ok", "duration": 3}]
    assert check_args(KLING_30, storyboard(multi_prompt=multi_prompt)) == []


@pytest.mark.parametrize("shot", [{"duration": 3}, {"prompt": "", "duration": 3},
                                  {"prompt": "  ", "duration": 3}],
                         ids=["missing", "empty", "blank"])
def test_it_rejects_a_shot_without_a_prompt(shot):
    multi_prompt = [{"prompt": "The door opens", "duration": 2}, shot]
    problem = only_problem(KLING_30, storyboard(multi_prompt=multi_prompt))
    assert problem.arg == "multi_prompt[1].prompt"
    assert "Shot 2 needs a prompt" in problem.message


# Elements


def element(frontal=IMAGE, references=(IMAGE,)):
    return {"frontal_image_url": frontal, "reference_image_urls": list(references)}


def test_it_rejects_4_elements():
    problem = only_problem(KLING_30, kling_30(elements=[element()] * 4))
    assert problem.arg == "elements"
    assert "at most 3 elements" in problem.message


def test_it_rejects_an_element_with_4_reference_images():
    problem = only_problem(KLING_30, kling_30(elements=[element(references=[IMAGE] * 4)]))
    assert problem.arg == "elements[0].reference_image_urls"
    assert "at most 3" in problem.message


@pytest.mark.parametrize("broken", [{"reference_image_urls": [IMAGE]},
                                    element(frontal=""), element(frontal=None)],
                         ids=["missing", "empty", "none"])
def test_it_rejects_an_element_without_a_frontal_image(broken):
    problem = only_problem(KLING_30, kling_30(elements=[element(), broken]))
    assert problem.arg == "elements[1]"
    assert "Element 2 needs a frontal image" in problem.message


def test_it_rejects_elements_on_kling_26():
    problems = check_args(KLING_26, kling_26(elements=[element()]))
    assert set(args_of(problems)) == {"elements"}


# The request builder


def spec(model_id=KLING_26, **fields):
    values = {"model_id": model_id, "mode": "pro", "duration": 5, "prompt": "A slow pan",
              "image": IMAGE}
    values.update(fields)
    return JobSpec(**values)


def test_it_builds_kling_26_args_in_the_seed_shape():
    assert build_args(spec(generate_audio=True)) == {
        "mode": "pro", "prompt": "A slow pan", "duration": "5", "image": IMAGE,
        "generate_audio": True,
    }


def test_it_adds_kling_26_negative_prompt_and_end_frame_only_when_given():
    built = build_args(spec(duration=10, negative_prompt="blur", image_tail=TAIL))
    assert built == {"mode": "pro", "prompt": "A slow pan", "duration": "10", "image": IMAGE,
                     "generate_audio": False, "negative_prompt": "blur", "image_tail": TAIL}


def test_it_builds_a_kling_30_single_shot_without_shot_type():
    built = build_args(spec(KLING_30, mode="std", image_tail=TAIL, shot_type="customize",
                            shots=(Shot("ignored", 5),)))
    assert built == {"mode": "std", "duration": "5", "image": IMAGE, "generate_audio": False,
                     "prompt": "A slow pan", "multi_shot": False, "image_tail": TAIL}


def test_it_builds_a_kling_30_intelligent_split():
    built = build_args(spec(KLING_30, multi_shot=True, shot_type="intelligence",
                            generate_audio=True, image_tail=TAIL))
    assert built == {"mode": "pro", "duration": "5", "image": IMAGE, "generate_audio": True,
                     "prompt": "A slow pan", "multi_shot": True, "shot_type": "intelligence"}


def test_it_builds_a_kling_30_custom_storyboard_without_end_frame():
    built = build_args(spec(KLING_30, duration=7, prompt="", multi_shot=True,
                            shot_type="customize", image_tail=TAIL,
                            shots=(Shot("The door opens", 3), Shot("A cat walks in", 4))))
    assert built == {
        "mode": "pro", "duration": "7", "image": IMAGE, "generate_audio": False,
        "multi_shot": True, "shot_type": "customize",
        "multi_prompt": [{"prompt": "The door opens", "duration": 3},
                         {"prompt": "A cat walks in", "duration": 4}],
    }
    assert all(type(shot["duration"]) is int for shot in built["multi_prompt"])


def test_it_builds_kling_30_elements():
    built = build_args(spec(KLING_30, elements=(Element("front.png", ("left.png", "right.png")),
                                                Element("solo.png"))))
    assert built["elements"] == [
        {"frontal_image_url": "front.png", "reference_image_urls": ["left.png", "right.png"]},
        {"frontal_image_url": "solo.png", "reference_image_urls": []},
    ]


BUILT_SPECS = [
    spec(),
    spec(duration=10, generate_audio=True, negative_prompt="blur", image_tail=TAIL),
    spec(KLING_30, mode="std", duration=3),
    spec(KLING_30, duration=15, generate_audio=True, image_tail=TAIL, negative_prompt="blur"),
    spec(KLING_30, multi_shot=True, shot_type="intelligence", image_tail=TAIL),
    spec(KLING_30, prompt="", multi_shot=True, shot_type="customize", image_tail=TAIL,
         shots=(Shot("One", 1), Shot("Two", 4))),
    spec(KLING_30, multi_shot=True, shot_type="customize", duration=6,
         shots=tuple(Shot(f"Shot {n}", 1) for n in range(6))),
    spec(KLING_30, elements=(Element("a.png", ("b.png", "c.png", "d.png")),) * 3),
]


@pytest.mark.parametrize("job_spec", BUILT_SPECS)
def test_it_builds_args_that_pass_its_own_checks(job_spec):
    assert check_args(job_spec.model_id, build_args(job_spec)) == []


# Prices and estimates


def test_it_prices_exactly_the_contract_table():
    offered = {(m.id, mode, audio) for m in catalogue.MODELS.values() for mode in m.modes
               for audio in (False, True)}
    assert offered == set(CONTRACT_PRICES)
    for (model_id, mode, audio), price in CONTRACT_PRICES.items():
        assert catalogue.get(model_id).price_per_second(mode, audio) == price


@pytest.mark.parametrize("model_id, mode, audio", sorted(CONTRACT_PRICES))
def test_it_estimates_the_price_times_the_duration(model_id, mode, audio):
    model = catalogue.get(model_id)
    assert list(model.durations) == CONTRACT_DURATIONS[model_id]
    for seconds in CONTRACT_DURATIONS[model_id]:
        expected = CONTRACT_PRICES[model_id, mode, audio] * seconds
        assert model.estimate(mode, seconds, audio) == expected


@pytest.mark.parametrize("model_id, mode, seconds, audio, expected", [
    (KLING_26, "pro", 5, False, "0.300"),
    (KLING_26, "pro", 10, True, "1.200"),
    (KLING_30, "std", 3, False, "0.429"),
    (KLING_30, "std", 7, True, "1.498"),
    (KLING_30, "pro", 15, False, "2.850"),
    (KLING_30, "pro", 15, True, "4.290"),
])
def test_it_estimates_worked_examples(model_id, mode, seconds, audio, expected):
    estimate = catalogue.get(model_id).estimate(mode, seconds, audio)
    assert str(estimate) == expected


@pytest.mark.parametrize("value, text", [
    (Decimal("0.715"), "$0.715"),
    (Decimal("1.2"), "$1.20"),
    (Decimal("1.200"), "$1.20"),
    (Decimal("0"), "$0.00"),
    (Decimal("0.7145"), "$0.715"),
    (Decimal("4.29"), "$4.29"),
    (None, "—"),
])
def test_it_formats_money_with_cents_and_thousandths_only_when_they_matter(value, text):
    assert catalogue.format_money(value) == text


def test_it_raises_unknown_model_for_an_unknown_id():
    with pytest.raises(catalogue.UnknownModel):
        catalogue.get("kwaivgi/kling-1.0/image-to-video")


# Inline images


PIXELS = b"\x89PNG\r\n\x1a\n fake pixels"


def test_it_decodes_a_data_uri():
    value = "data:image/png;base64," + base64.b64encode(PIXELS).decode()
    assert catalogue.decode_inline_image(value) == PIXELS


def test_it_decodes_raw_base64():
    assert catalogue.decode_inline_image(base64.b64encode(PIXELS).decode()) == PIXELS


@pytest.mark.parametrize("value", [
    "https://example.com/start.png",
    "not base64 at all!",
    "abc",
    "data:image/png,abcd",
    "data:image/png;base64,%%%%",
])
def test_it_decodes_garbage_to_none(value):
    assert catalogue.decode_inline_image(value) is None


# What the composer page gets


def test_it_gives_the_page_the_contract_prices():
    models = {m["id"]: m for m in catalogue.as_client_json()["models"]}
    assert set(models) == {KLING_26, KLING_30}
    assert models[KLING_30]["prices"]["std:1"] == "0.214"
    assert models[KLING_26]["prices"]["pro:0"] == "0.06"
    for (model_id, mode, audio), price in CONTRACT_PRICES.items():
        assert Decimal(models[model_id]["prices"][f"{mode}:{int(audio)}"]) == price
    assert len(models[KLING_30]["prices"]) == 4 and len(models[KLING_26]["prices"]) == 2


def test_it_gives_the_page_the_options_of_each_model():
    client = catalogue.as_client_json()
    models = {m["id"]: m for m in client["models"]}
    assert models[KLING_26]["durations"] == [5, 10]
    assert models[KLING_30]["durations"] == list(range(3, 16))
    assert [m["value"] for m in models[KLING_26]["modes"]] == ["pro"]
    assert sorted(m["value"] for m in models[KLING_30]["modes"]) == ["pro", "std"]
    assert models[KLING_26]["audioRequired"] is True
    assert models[KLING_30]["audioRequired"] is False
    assert models[KLING_30]["storyboard"] is True and models[KLING_26]["storyboard"] is False
    assert client["maxPromptChars"] == 2500
