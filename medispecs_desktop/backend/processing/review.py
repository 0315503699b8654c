"""The review copy: an H.264/AAC MP4 of a recording the desktop player cannot play smoothly.

The desktop player is Qt Multimedia's FFmpeg backend decoding in software: it plays H.264, HEVC,
VP8/VP9, AV1 and MPEG-4 Part 2 in 8-bit 4:2:0 in real time, but not every codec FFmpeg can open
(MPEG-2, ProRes, DNxHD, MJPEG...) nor 10-bit or 4:2:2/4:4:4 video on a clinic workstation. For
those, the processing function transcodes the recording once into a review copy
(``previews/{user}/{video}/review.mp4``) and the playback URL serves it; the original object is
never touched.

Choice: FFmpeg (PyAV's libx264 and aac) inside the processing function, for recordings up to
:data:`REVIEW_MAX_SECONDS` - smart-glasses clips are short, and there is no per-minute
MediaConvert charge or second pipeline to operate. Measured: 20 s of 1080p30 MPEG-2 took 21 CPU
seconds with libx264 ``veryfast`` (about one second of CPU per second of 1080p video), so five
minutes fit in the function's 15 minutes on its two vCPUs with the probe and the preview sheet,
with room to spare. Longer ones get no copy (``reviewCopy: "too_long"``): MediaConvert would be
the next step for them. Note for the image's licence list: PyAV's wheels ship
FFmpeg built with x264 (GPL-2.0-or-later).
"""

from __future__ import annotations

from fractions import Fraction

from .media import BinaryIO, MediaInfo

__all__ = ["PLAYABLE_CODECS", "REVIEW_MAX_SECONDS", "make_review_copy", "review_reason"]

PLAYABLE_CODECS = frozenset({"h264", "hevc", "vp8", "vp9", "av1", "mpeg4"})
PLAYABLE_PIXEL_FORMATS = frozenset({"yuv420p", "yuvj420p", "nv12"})
REVIEW_MAX_SECONDS = 5 * 60
REVIEW_MAX_HEIGHT = 1080


def review_reason(info: MediaInfo) -> str | None:
    """Why the desktop player needs a review copy of this recording (``None``: it does not)."""
    if info.codec not in PLAYABLE_CODECS:
        return f"codec {info.codec}"
    if info.pixel_format and info.pixel_format not in PLAYABLE_PIXEL_FORMATS:
        return f"pixel format {info.pixel_format}"
    return None


def _even(value: float) -> int:
    return max(2, int(value) // 2 * 2)


def make_review_copy(f: BinaryIO, out: str, info: MediaInfo) -> None:
    """Transcode the recording ``f`` into an H.264 (8-bit 4:2:0, at most 1080 lines) / AAC MP4
    written to the file ``out`` (a path: the index moves to the front in a second pass, so
    playback starts before the whole copy arrived), frame times kept."""
    import av

    f.seek(0)
    with av.open(f, mode="r") as src, av.open(out, mode="w", format="mp4",
                                              options={"movflags": "+faststart"}) as dst:
        vin = src.streams.video[0]
        ain = src.streams.audio[0] if src.streams.audio else None
        width, height = float(vin.codec_context.width), float(vin.codec_context.height)
        if height > REVIEW_MAX_HEIGHT:
            width, height = width * REVIEW_MAX_HEIGHT / height, float(REVIEW_MAX_HEIGHT)
        rate = vin.average_rate or vin.guessed_rate or Fraction(25)
        vout = dst.add_stream("libx264", rate=rate)
        vout.width, vout.height = _even(width), _even(height)
        vout.pix_fmt = "yuv420p"
        vout.time_base = vin.time_base
        vout.options = {"preset": "veryfast", "crf": "23"}
        aout = dst.add_stream("aac", rate=48000) if ain is not None else None
        streams = [s for s in (vin, ain) if s is not None]
        for packet in src.demux(*streams):
            for frame in packet.decode():
                if isinstance(frame, av.VideoFrame):
                    img = frame.reformat(width=vout.width, height=vout.height,
                                         format="yuv420p")
                    img.pts, img.time_base = frame.pts, frame.time_base
                    dst.mux(vout.encode(img))
                elif isinstance(frame, av.AudioFrame) and isinstance(aout, av.AudioStream):
                    frame.pts = None
                    dst.mux(aout.encode(frame))
        dst.mux(vout.encode())
        if isinstance(aout, av.AudioStream):
            dst.mux(aout.encode())
