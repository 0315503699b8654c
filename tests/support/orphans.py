"""The end-of-session check that no test left bytes without an owner on a shared stack (issue
17: "no test run leaves an object without a record or an open multipart upload without a
session").

It asks the backend's own sweep what it would remove, with no minimum age: every object under
``videos/`` whose key no record holds, every thumbnail of a video with neither a record nor an
open upload, every multipart upload under ``videos/`` with no live session item. Nothing is
exempt. A test that makes orphans on purpose (to test the sweep, a lost race, a refused record)
removes them itself before it ends, e.g. with :func:`sweep_user`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from medispecs_desktop.backend.config import BackendConfig
from medispecs_desktop.backend.jobs import Jobs


@dataclass
class Orphans:
    objects: list[str] = field(default_factory=list)
    uploads: list[tuple[str, str]] = field(default_factory=list)  # (key, uploadId)

    def __bool__(self) -> bool:
        return bool(self.objects or self.uploads)

    def describe(self, names: dict[str, str] | None = None) -> str:
        """One line per orphan; ``names`` maps user ids to user names (the tests' users are
        named after them: see tests/support/users.py)."""
        names = names or {}

        def who(key: str) -> str:
            user = key.split("/")[1] if key.count("/") >= 2 else ""
            return f" [user {names[user]}]" if user in names else ""

        lines = [f"object without a record: {k}{who(k)}" for k in self.objects]
        lines += [f"open multipart upload without a session: {k} (uploadId {u}){who(k)}"
                  for k, u in self.uploads]
        return "\n".join(lines)

    def user_ids(self) -> set[str]:
        keys = [*self.objects, *(k for k, _u in self.uploads)]
        return {k.split("/")[1] for k in keys if k.count("/") >= 2}


def stack_config(info: dict[str, Any]) -> BackendConfig:
    """The backend's configuration for the stack described by ``info`` (the local_stack dict)."""
    return BackendConfig(
        table_name=info["table"], bucket=info["bucket"], region=info["region"],
        endpoint_url=info["awsEndpoint"], aws_access_key_id="local",
        aws_secret_access_key="local", s3_addressing_style="path",
    )


def user_names(info: dict[str, Any], user_ids: set[str]) -> dict[str, str]:
    """The stack's user pool's names of ``user_ids`` (their ``sub``), where found."""
    import boto3

    idp = boto3.client("cognito-idp", region_name=info["region"],
                       endpoint_url=info["awsEndpoint"], aws_access_key_id="local",
                       aws_secret_access_key="local")
    out: dict[str, str] = {}
    for sub in sorted(user_ids):
        users = idp.list_users(UserPoolId=info["userPoolId"], Filter=f'sub = "{sub}"',
                               Limit=1).get("Users", [])
        if users:
            out[sub] = str(users[0]["Username"])
    return out


def find_orphans(config: BackendConfig, *, only_user: str | None = None) -> Orphans:
    """What the sweep would remove now if nothing needed to be a day old first."""
    jobs = Jobs(config, only_user=only_user)
    everything = time.time() + 3600.0  # any object or upload made up to now
    found = Orphans()
    for page in jobs.orphan_objects(everything):
        found.objects.extend(page)
    found.uploads = [(u.key, u.upload_id) for u, _ in jobs.orphan_uploads(everything)]
    return found


def sweep_user(config: BackendConfig, user_id: str) -> Orphans:
    """Remove one user's orphans at once (a test that made them on purpose, cleaning up)."""
    found = find_orphans(config, only_user=user_id)
    jobs = Jobs(config, only_user=user_id)
    if found.objects:
        jobs.storage.delete_objects(found.objects)
    for key, upload_id in found.uploads:
        jobs.storage.abort_multipart(key, upload_id)
    return found
