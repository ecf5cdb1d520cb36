"""The last frame of a finished video, taken as the start frame of the next take."""

import io

import av
import pytest
from PIL import Image

from lib.lastframe import LastFrameError, last_frame
from simulator import video

RED, BLUE = (255, 0, 0), (0, 0, 255)


def close_to(pixel, colour, tolerance=24):
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour))


@pytest.fixture
def red_to_blue(tmp_path):
    return video.render(tmp_path / "take.mp4", Image.new("RGB", (640, 360), RED), 3,
                        end=Image.new("RGB", (640, 360), BLUE))


def grey_ramp(path, frames=120, keyframe_every=12, format=None):
    """A video whose frame i is grey level i, with a keyframe every `keyframe_every` frames."""
    with av.open(str(path), "w", format=format) as container:
        stream = container.add_stream("libx264", rate=24, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        stream.gop_size = keyframe_every
        for index in range(frames):
            frame = av.VideoFrame.from_image(Image.new("RGB", (160, 120), (index,) * 3))
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


class Unseekable:
    """A file that can only be read forward, as a pipe or a network stream is."""

    def __init__(self, content):
        self._buffer = io.BytesIO(content)

    def read(self, size=-1):
        return self._buffer.read(size)


def test_it_takes_the_end_colour_from_the_last_frame(red_to_blue):
    image = last_frame(red_to_blue)
    assert image.mode == "RGB" and image.size == (640, 360)
    assert close_to(image.getpixel((320, 180)), BLUE)
    assert not close_to(image.getpixel((320, 180)), RED)


def test_it_reads_a_video_from_an_open_file(red_to_blue):
    with open(red_to_blue, "rb") as handle:
        assert close_to(last_frame(handle).getpixel((10, 10)), BLUE)


def test_it_reads_a_video_it_cannot_seek_from_start_to_end(red_to_blue):
    image = last_frame(Unseekable(red_to_blue.read_bytes()))
    assert close_to(image.getpixel((10, 10)), BLUE)


def test_it_decodes_past_the_last_keyframe_to_the_final_frame(tmp_path):
    image = last_frame(grey_ramp(tmp_path / "ramp.mp4", frames=120, keyframe_every=12))
    level = image.getpixel((80, 60))[0]
    # the last keyframe shows grey 108, the final frame grey 119
    assert abs(level - 119) <= 3


def test_it_reads_a_stream_without_an_index_from_start_to_end(tmp_path):
    # a bare H.264 stream has no index to seek in and does not say how long it is
    ramp = grey_ramp(tmp_path / "ramp.h264", frames=60, format="h264")
    assert abs(last_frame(ramp).getpixel((80, 60))[0] - 59) <= 3
    with open(ramp, "rb") as handle:
        assert abs(last_frame(handle).getpixel((80, 60))[0] - 59) <= 3


def test_it_refuses_a_file_that_is_not_a_video(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("These are not the frames you are looking for.\n" * 50)
    with pytest.raises(LastFrameError, match="could not be read as a video"):
        last_frame(path)


def test_it_refuses_a_file_with_sound_but_no_picture(tmp_path):
    path = tmp_path / "tone.m4a"
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=44100, layout="mono")
        frame = av.AudioFrame(format="fltp", layout="mono", samples=1024)
        frame.planes[0].update(bytes(4096))
        frame.sample_rate, frame.pts = 44100, 0
        container.mux(stream.encode(frame))
        container.mux(stream.encode())
    with pytest.raises(LastFrameError, match="no video"):
        last_frame(path)
