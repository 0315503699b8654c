"""An orderly pause or stop never leaves an object without its record: once S3 holds the whole
file (the multipart upload completed), the record is made before the pause takes effect. Before,
a pause that arrived in that moment left the bytes in the bucket with no record until a resume
(or the backend's sweep a day later) - the end-of-session orphan check caught one in CI."""

from __future__ import annotations

from typing import Any

from medispecs_desktop.core.errors import NotFoundError
from medispecs_desktop.core.uploads.jobs import JobState, Phase
from tests.core.uploads.test_upload_engine import file_sha256, object_sha256, settled


class PauseAtComplete:
    """The demo user's API client; the moment S3 answers the completion, the job is paused
    (as a click on Pause would, from another thread's point of view the same row change)."""

    def __init__(self, api: Any) -> None:
        self._api = api
        self.engine: Any = None
        self.job_id: int | None = None
        self.paused_at_complete = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._api, name)

    def complete_multipart(self, *args: Any, **kwargs: Any) -> Any:
        answer = self._api.complete_multipart(*args, **kwargs)
        assert self.engine is not None and self.job_id is not None
        self.engine.pause(self.job_id)
        self.paused_at_complete = True
        return answer


def test_a_pause_as_the_upload_completes_still_records_the_bytes_first(
    make_engine: Any, make_video: Any, clip_seed: Any, demo_api: Any, s3: Any,
    local_stack: dict[str, Any],
) -> None:
    api, _sub = demo_api
    wrapper = PauseAtComplete(api)
    engine = make_engine(api=wrapper)
    wrapper.engine = engine
    clip = make_video("pause-at-complete.mp4", seconds=0.6, seed=clip_seed())
    job = engine.add_paths([clip]).added[0]
    wrapper.job_id = job.id
    engine.start()
    # the pause shows at once; the worker then makes the record and stops (before: it stopped
    # at once and the phase stayed "completed", bytes in S3 without a record)
    recorded = engine.wait_until(lambda jobs: any(
        j.id == job.id and j.phase in (Phase.RECORDED, Phase.FINISHED) for j in jobs),
        timeout=60)
    paused = engine.job(job.id)
    assert recorded, paused.phase
    assert wrapper.paused_at_complete
    assert paused.state is JobState.PAUSED
    try:
        video = api.get_video(paused.video_id)
    except NotFoundError:  # the old behaviour
        raise AssertionError("the paused job's bytes are in S3 without a record") from None
    assert object_sha256(s3, local_stack["bucket"], video.s3_key) == file_sha256(clip)
    # resumed, it ends done with the same record
    engine.resume(job.id)
    done = settled(engine, [job.id])[0]
    assert done.state is JobState.DONE, done.error
    assert api.get_video(done.video_id).video_id == paused.video_id
