"""A take's recipe carried inside its MP4: written without re-encoding, read back whole, and
told apart from comments other tools leave."""

import json

import av
import pytest
from PIL import Image

from jobs import recipes
from jobs.recipes import RecipeError, read_recipe, write_recipe
from sequences.export import Cut, export
from simulator import video

RECIPE = {
    "model": "kwaivgi/kling-3.0/image-to-video",
    "mode": "pro",
    "duration": "5",
    "prompt": "Mia walks into the café at dawn, steam rising from her cup. " * 40,
    "negative_prompt": "blur, text",
    "generate_audio": True,
    "multi_shot": True,
    "shot_type": "customize",
    "shots": [{"prompt": "Mia at the door", "duration": 2},
              {"prompt": "Mia sits — and smiles", "duration": 3}],
    "elements": ["Mia", "Café"],
    "jobs": [41, 42],
}


@pytest.fixture
def take(tmp_path):
    return video.render(tmp_path / "take.mp4", Image.new("RGB", (640, 360), (200, 60, 40)), 2,
                        audio=True)


def streams_of(path):
    with av.open(str(path)) as container:
        return [(stream.type, stream.codec_context.name, stream.duration, stream.frames)
                for stream in container.streams], container.duration


def packets_of(path):
    with av.open(str(path)) as container:
        return [bytes(packet) for packet in container.demux() if packet.size]


def test_it_reads_back_the_recipe_it_wrote(take, tmp_path):
    write_recipe(take, tmp_path / "carrying.mp4", RECIPE)
    assert read_recipe(tmp_path / "carrying.mp4") == RECIPE
    with open(tmp_path / "carrying.mp4", "rb") as handle:
        assert read_recipe(handle) == RECIPE


def test_it_copies_the_streams_without_re_encoding(take, tmp_path):
    write_recipe(take, tmp_path / "carrying.mp4", RECIPE)
    assert streams_of(tmp_path / "carrying.mp4") == streams_of(take)
    assert packets_of(tmp_path / "carrying.mp4") == packets_of(take)
    with av.open(str(tmp_path / "carrying.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) == 2 * video.FPS


def test_it_can_write_a_recipe_into_the_file_it_reads(take):
    write_recipe(take, take, {"prompt": "first"})
    write_recipe(take, take, RECIPE)
    assert read_recipe(take) == RECIPE
    assert [path.name for path in take.parent.iterdir()] == ["take.mp4"]


def test_it_finds_no_recipe_in_a_plain_take(take):
    assert read_recipe(take) is None


@pytest.mark.parametrize("comment", [
    "Encoded with a camera app",
    json.dumps({"model": "someone else's", "prompt": "not ours"}),
    json.dumps({recipes.MARKER: 2, "prompt": "from a later version"}),
    json.dumps([recipes.MARKER, 1]),
])
def test_it_ignores_a_comment_that_is_not_our_recipe(take, tmp_path, comment):
    out = tmp_path / "foreign.mp4"
    with av.open(str(take)) as source, av.open(str(out), "w", format="mp4") as copy:
        copy.metadata["comment"] = comment
        streams = {stream.index: copy.add_stream_from_template(stream) for stream in source.streams}
        for packet in source.demux():
            if packet.dts is not None:
                packet.stream = streams[packet.stream.index]
                copy.mux(packet)
    with av.open(str(out)) as container:
        assert container.metadata["comment"] == comment
    assert read_recipe(out) is None


def test_it_refuses_a_file_that_is_not_a_video(tmp_path):
    notes = tmp_path / "notes.mp4"
    notes.write_text("not a video\n" * 100)
    with pytest.raises(RecipeError, match="not an MP4"):
        read_recipe(notes)
    with pytest.raises(RecipeError):
        write_recipe(notes, tmp_path / "out.mp4", RECIPE)
    assert not (tmp_path / "out.mp4").exists()


def test_it_reads_the_recipe_an_export_was_given(take, tmp_path):
    export([Cut(take, 0.5), Cut(take, 0, 1.0)], tmp_path / "sequence.mp4",
           metadata=recipes.as_metadata(RECIPE))
    assert read_recipe(tmp_path / "sequence.mp4") == RECIPE
