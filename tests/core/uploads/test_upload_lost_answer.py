"""A lost answer to create-multipart leaves no open upload (issue 17, finding 2(c)).

The real engine uploads through a fault proxy in front of the session's local API gateway: the
server runs the first ``POST /videos/{id}/multipart`` (S3 opens an upload, the session is
written) but its answer never reaches the client. The engine sends the create again; when the
file is done, S3 holds no open multipart upload for the recording -- checked under the
recording's own key, never over the shared bucket."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from medispecs_desktop.core.api import ApiClient
from medispecs_desktop.core.auth import CognitoAuth, MemoryTokenStore
from medispecs_desktop.core.uploads.jobs import JobState
from tests.core.uploads.conftest import stack_settings
from tests.core.uploads.test_upload_engine import file_sha256, open_uploads, settled
from tests.support.api_fault_proxy import ApiFaultProxy
from tests.support.users import new_user


def test_a_lost_answer_to_create_multipart_leaves_no_open_upload(
    make_engine, big_video, s3, local_stack: dict[str, Any]
) -> None:
    with ApiFaultProxy(local_stack["apiUrl"]) as api_proxy:
        settings = replace(stack_settings(local_stack), api_url=api_proxy.url)
        username, password = new_user(local_stack, "lost-answer")
        auth = CognitoAuth(settings, MemoryTokenStore())
        me = auth.sign_in(username, password)
        api = ApiClient(settings, auth)
        api_proxy.drop_answer("POST", r"/videos/v_[A-Za-z0-9_-]+/multipart")
        video = big_video("lost-answer.mkv", 11)  # 3 parts of 5 MiB
        engine = make_engine(api=api, user_id=me.sub)
        engine.start()
        job = engine.add_paths([video]).added[0]
        (done,) = settled(engine, [job.id])
        assert done.state is JobState.DONE, done.error
        creates = api_proxy.log.calls("POST", rf"/videos/{done.video_id}/multipart")
        assert [(c.status, c.dropped) for c in creates] == [(201, True), (201, False)]
        assert open_uploads(s3, local_stack["bucket"], me.sub, done.video_id) == set()
        record = api.get_video(done.video_id)
        assert record.sha256 == file_sha256(video)
        api.close()
