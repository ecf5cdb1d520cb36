"""Cutting finished takes together into one video: its size, rate and length, sound kept in
step with picture across every cut, letterboxing, and the sequences it refuses."""

import array
import math
from fractions import Fraction

import av
import pytest
from PIL import Image

from sequences.export import Cut, ExportError, export
from simulator import video

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)
RATE = video.AUDIO_RATE
FRAME = Fraction(1, video.FPS)


def render(path, colour, size, seconds=2, audio=False):
    return video.render(path, Image.new("RGB", size, colour), seconds, audio=audio)


def solid_video(path, colour, size, fps, seconds, audio_rate=None, layout="mono",
                keyframe_every=250):
    """A video of one colour at `fps`, with a 440 Hz tone at `audio_rate` if given."""
    with av.open(str(path), "w", format="mp4") as container:
        picture = container.add_stream("libx264", rate=fps, options={"preset": "ultrafast"})
        picture.width, picture.height = size
        picture.pix_fmt, picture.gop_size = "yuv420p", keyframe_every
        sound = container.add_stream("aac", rate=audio_rate, layout=layout) if audio_rate else None
        for index in range(fps * seconds):
            frame = av.VideoFrame.from_image(Image.new("RGB", size, colour))
            frame.pts = index
            container.mux(picture.encode(frame))
        container.mux(picture.encode())
        if sound:
            count = audio_rate * seconds
            tone = array.array("f", (0.1 * math.sin(2 * math.pi * 440 * i / audio_rate)
                                     for i in range(count)))
            frame = av.AudioFrame(format="fltp", layout=layout, samples=count)
            for plane in frame.planes:
                plane.update(tone.tobytes())
            frame.sample_rate, frame.pts = audio_rate, 0
            container.mux(sound.encode(frame))
            container.mux(sound.encode())
    return path


def samples(path):
    """The first channel of a file's sound, decoded."""
    decoded = array.array("f")
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            decoded.frombytes(bytes(frame.planes[0])[: frame.samples * 4])
    return decoded


def loudest(decoded, start_seconds, end_seconds):
    return max(abs(value) for value in decoded[int(start_seconds * RATE):int(end_seconds * RATE)])


def pixel(image, x, y, colour, tolerance=24):
    return all(abs(a - b) <= tolerance for a, b in zip(image.getpixel((x, y)), colour))


@pytest.fixture(scope="module")
def sequence(tmp_path_factory):
    """Three takes of three shapes (the middle one silent), trimmed and cut together: the wide
    take from 0.25 to 1.5 s, the tall one from 0.5 s to its end, the square one to 1 s."""
    folder = tmp_path_factory.mktemp("sequence")
    wide = render(folder / "wide.mp4", RED, (640, 360), audio=True)
    tall = render(folder / "tall.mp4", GREEN, (360, 640))
    square = render(folder / "square.mp4", BLUE, (480, 480), audio=True)
    told = []
    result = export([Cut(wide, 0.25, 1.5), Cut(tall, 0.5), Cut(square, 0, 1.0)],
                    folder / "sequence.mp4", progress=told.append)
    return {"path": folder / "sequence.mp4", "result": result, "told": told,
            "wide": wide, "square": square}


def test_it_encodes_h264_at_the_first_takes_size_and_rate(sequence):
    with av.open(str(sequence["path"])) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert (stream.width, stream.height) == (640, 360)
        assert stream.average_rate == video.FPS
        assert stream.codec_context.pix_fmt == "yuv420p"
    result = sequence["result"]
    assert (result.width, result.height, result.fps) == (640, 360, video.FPS)


def test_it_lasts_as_long_as_the_trimmed_takes_together(sequence):
    expected = 1.25 + 1.5 + 1.0
    with av.open(str(sequence["path"])) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        assert abs(float(stream.duration * stream.time_base) - expected) <= FRAME
    assert frames == sequence["result"].frames == 45
    assert abs(sequence["result"].duration - expected) <= FRAME


def test_it_keeps_its_sound_as_long_as_its_picture(sequence):
    with av.open(str(sequence["path"])) as container:
        picture, sound = container.streams.video[0], container.streams.audio[0]
        assert sound.codec_context.name == "aac"
        assert abs(sound.duration * sound.time_base - picture.duration * picture.time_base) \
            <= FRAME
    assert sequence["result"].audio_samples == round(3.75 * RATE)


def test_it_fills_a_take_without_sound_with_silence(sequence):
    decoded = samples(sequence["path"])
    assert loudest(decoded, 1.5, 2.5) < 0.001
    assert loudest(decoded, 0.2, 1.0) > 0.02
    assert loudest(decoded, 3.0, 3.6) > 0.02


def test_it_keeps_each_takes_sound_in_step_with_its_picture(sequence):
    decoded = samples(sequence["path"])
    wide, square = samples(sequence["wide"]), samples(sequence["square"])
    trimmed = int(0.25 * RATE)
    assert max(abs(decoded[i] - wide[trimmed + i]) for i in range(2000, 50000)) < 0.002
    # the square take follows 1.25 s of the wide one and 1.5 s of the silent tall one
    after = int(2.75 * RATE)
    assert max(abs(decoded[after + i] - square[i]) for i in range(2000, 40000)) < 0.002


def test_it_letterboxes_a_take_of_another_shape_in_black(sequence):
    with av.open(str(sequence["path"])) as container:
        frames = [frame.to_image() for frame in container.decode(video=0)]
    wide, tall, square = frames[5], frames[25], frames[40]
    assert pixel(wide, 4, 180, RED) and pixel(wide, 635, 180, RED)
    assert pixel(tall, 4, 180, (0, 0, 0)) and pixel(tall, 635, 180, (0, 0, 0))
    assert pixel(tall, 320, 4, GREEN) and pixel(tall, 320, 355, GREEN)
    assert pixel(square, 4, 180, (0, 0, 0)) and pixel(square, 320, 180, BLUE)


def test_it_reports_progress_rising_to_one(sequence):
    told = sequence["told"]
    assert len(told) > 10
    assert all(earlier < later for earlier, later in zip(told, told[1:]))
    assert 0 < told[0] and told[-1] == 1.0


def test_it_retimes_and_resamples_a_take_made_differently(tmp_path):
    first = render(tmp_path / "first.mp4", RED, (640, 360), seconds=1, audio=True)
    other = solid_video(tmp_path / "other.mp4", GREEN, (640, 360), fps=24, seconds=1,
                        audio_rate=48000, layout="stereo")
    result = export([Cut(first), Cut(other)], tmp_path / "out.mp4")
    assert result.frames == 24 and result.fps == video.FPS
    with av.open(str(tmp_path / "out.mp4")) as container:
        sound = container.streams.audio[0]
        assert sound.sample_rate == RATE and sound.channels == 2
        assert abs(sound.duration * sound.time_base - 2) <= FRAME
    assert loudest(samples(tmp_path / "out.mp4"), 1.2, 1.8) > 0.05


def test_it_places_its_own_keyframes_not_the_takes(tmp_path):
    take = solid_video(tmp_path / "take.mp4", RED, (320, 320), fps=12, seconds=2,
                       keyframe_every=4)
    export([Cut(take)], tmp_path / "out.mp4")
    with av.open(str(tmp_path / "out.mp4")) as container:
        keyframes = [packet for packet in container.demux(video=0) if packet.is_keyframe]
    assert len(keyframes) == 1


def test_it_makes_a_silent_video_of_takes_without_sound(tmp_path):
    takes = [render(tmp_path / f"{n}.mp4", GREEN, (320, 320), seconds=1) for n in range(2)]
    result = export([Cut(path) for path in takes], tmp_path / "out.mp4")
    with av.open(str(tmp_path / "out.mp4")) as container:
        assert not container.streams.audio
    assert result.frames == 24 and result.audio_samples == 0


def test_it_stores_the_metadata_it_is_given(tmp_path):
    take = render(tmp_path / "take.mp4", RED, (320, 320), seconds=1)
    export([Cut(take)], tmp_path / "out.mp4", metadata={"comment": "shot on a Tuesday"})
    with av.open(str(tmp_path / "out.mp4")) as container:
        assert container.metadata["comment"] == "shot on a Tuesday"


def test_it_refuses_an_empty_sequence(tmp_path):
    with pytest.raises(ExportError, match="no takes"):
        export([], tmp_path / "out.mp4")


@pytest.mark.parametrize("start, end", [(1.0, 1.0), (1.5, 0.5), (2.0, None), (5.0, 6.0)])
def test_it_refuses_a_trim_that_leaves_nothing(tmp_path, start, end):
    take = render(tmp_path / "take.mp4", RED, (320, 320))
    with pytest.raises(ExportError, match="Take 2.*leaves nothing"):
        export([Cut(take), Cut(take, start, end)], tmp_path / "out.mp4")
    assert not (tmp_path / "out.mp4").exists()


def test_it_refuses_a_file_that_is_not_a_video(tmp_path):
    take = render(tmp_path / "take.mp4", RED, (320, 320), seconds=1)
    notes = tmp_path / "notes.mp4"
    notes.write_text("not a video\n" * 100)
    with pytest.raises(ExportError, match="Take 2 could not be read as a video"):
        export([Cut(take), Cut(notes)], tmp_path / "out.mp4")


def test_it_leaves_no_half_written_file_when_it_fails(tmp_path):
    take = render(tmp_path / "take.mp4", RED, (320, 320))

    def give_up(done):
        if done > 0.5:
            raise RuntimeError("the worker was told to stop")

    with pytest.raises(RuntimeError):
        export([Cut(take)], tmp_path / "out.mp4", progress=give_up)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["take.mp4"]
