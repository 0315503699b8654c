"""The stack's own AWS calls answered by moto in-process (``local/inprocess.py``): the same
answers as over HTTP, for reads, writes, odd keys and errors; what needs the wire (a streamed
answer, another endpoint, an underscored header) goes over it; and the stack's handler uses it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
import requests
from botocore.awsrequest import AWSPreparedRequest
from botocore.config import Config
from botocore.exceptions import ClientError

from medispecs_desktop.local.inprocess import InProcessTransport
from medispecs_desktop.local.stack import LocalStack, sign_in

ODD_KEYS = ["videos/a b+c.mp4", "videos/ünïcödé/%41?#&=.mp4", "videos/~!$'()*,;:@.mp4"]


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[LocalStack, dict[str, Any]]]:
    local = LocalStack(with_samples=False, processing=False)
    info = local.start()
    try:
        yield local, info
    finally:
        local.stop()


def _clients(info: dict[str, Any], transport: InProcessTransport | None) -> tuple[Any, Any]:
    session = boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local",
                                    region_name=info["region"])
    s3 = session.client("s3", endpoint_url=info["awsEndpoint"],
                        config=Config(s3={"addressing_style": "path"},  # as the backend's
                                      request_checksum_calculation="when_required"))
    ddb = session.client("dynamodb", endpoint_url=info["awsEndpoint"])
    if transport is not None:
        for client in (s3, ddb):
            client.meta.events.register("before-send", transport)
    return s3, ddb


def _same(call: Callable[[Any], Any], http: Any, local: Any) -> Any:
    """``call`` on both clients: the same answer (or the same error), metadata aside."""
    def outcome(client: Any) -> Any:
        try:
            answer = dict(call(client))
        except ClientError as exc:
            return ("error", exc.response["Error"].get("Code"),
                    exc.response["ResponseMetadata"]["HTTPStatusCode"])
        meta = answer.pop("ResponseMetadata")
        answer.pop("Body", None)
        return ("ok", meta["HTTPStatusCode"], answer)

    over_http, in_process = outcome(http), outcome(local)
    assert in_process == over_http
    return in_process


def test_in_process_answers_are_the_http_answers(
        stack: tuple[LocalStack, dict[str, Any]]) -> None:
    local_stack, info = stack
    transport = local_stack.moto.transport if local_stack.moto else None
    assert transport is not None
    bucket, table = info["bucket"], info["table"]
    http_s3, http_ddb = _clients(info, None)
    s3, ddb = _clients(info, transport)
    calls = transport.calls

    for n, key in enumerate(ODD_KEYS):  # written in-process, read both ways
        s3.put_object(Bucket=bucket, Key=key, Body=b"x" * (n + 1), ContentType="video/mp4",
                      Metadata={"origin": f"test-{n}"})
        def head(client: Any, key: str = key) -> Any:
            return client.head_object(Bucket=bucket, Key=key)

        found = _same(head, http_s3, s3)
        assert found[2]["ContentLength"] == n + 1 and found[2]["Metadata"] == {
            "origin": f"test-{n}"}
    listed = _same(lambda c: c.list_objects_v2(Bucket=bucket, Prefix="videos/"), http_s3, s3)
    assert sorted(o["Key"] for o in listed[2]["Contents"]) == sorted(ODD_KEYS)
    assert _same(lambda c: c.head_object(Bucket=bucket, Key="videos/none.mp4"),
                 http_s3, s3)[:3] == ("error", "404", 404)
    assert _same(lambda c: c.list_objects_v2(Bucket="no-such-bucket"),
                 http_s3, s3)[:2] == ("error", "NoSuchBucket")
    upload = s3.create_multipart_upload(Bucket=bucket, Key=ODD_KEYS[1],
                                        ChecksumAlgorithm="CRC64NVME",
                                        ChecksumType="FULL_OBJECT")
    uploads = _same(lambda c: c.list_multipart_uploads(Bucket=bucket), http_s3, s3)
    assert [u["UploadId"] for u in uploads[2]["Uploads"]] == [upload["UploadId"]]
    s3.abort_multipart_upload(Bucket=bucket, Key=ODD_KEYS[1], UploadId=upload["UploadId"])
    assert _same(lambda c: c.list_parts(Bucket=bucket, Key=ODD_KEYS[1],
                                        UploadId=upload["UploadId"]),
                 http_s3, s3)[:2] == ("error", "NoSuchUpload")

    item = {"PK": {"S": "USER#t"}, "SK": {"S": "VIDEO#ünï"}, "title": {"S": "a\"b\\c\n"},
            "n": {"N": "12.5"}, "tags": {"SS": ["x", "y"]}}
    ddb.put_item(TableName=table, Item=item)
    got = _same(lambda c: c.get_item(TableName=table, Key={"PK": item["PK"], "SK": item["SK"]}),
                http_ddb, ddb)
    assert got[2]["Item"] == item
    _same(lambda c: c.query(TableName=table, KeyConditionExpression="PK = :p",
                            ExpressionAttributeValues={":p": item["PK"]}), http_ddb, ddb)
    assert _same(lambda c: c.put_item(TableName=table, Item=item,
                                      ConditionExpression="attribute_not_exists(PK)"),
                 http_ddb, ddb)[:2] == ("error", "ConditionalCheckFailedException")
    assert transport.calls == calls + 17  # every call above was answered in-process

    # a streamed answer goes over HTTP: the object's bytes, not a copy in memory
    before = transport.calls
    body = s3.get_object(Bucket=bucket, Key=ODD_KEYS[2])["Body"].read()
    assert body == b"xxx" and transport.calls == before
    for key in ODD_KEYS:
        s3.delete_object(Bucket=bucket, Key=key)


def test_what_needs_the_wire_is_left_to_it(stack: tuple[LocalStack, dict[str, Any]]) -> None:
    local_stack, info = stack
    transport = local_stack.moto.transport if local_stack.moto else None
    assert transport is not None
    endpoint = info["awsEndpoint"]

    def request(url: str, headers: dict[str, Any] | None = None, body: Any = b"",
                stream: bool = False) -> AWSPreparedRequest:
        fields: Any = headers or {}  # (botocore's HTTPHeaders, or any mapping)
        return AWSPreparedRequest("GET", url, fields, body, stream_output=stream)

    assert transport.environ(request(f"{endpoint}/bucket/key")) is not None
    assert transport.environ(request("http://127.0.0.1:1/bucket/key")) is None
    assert transport.environ(request(endpoint + "0/bucket")) is None  # another port
    assert transport.environ(request(f"{endpoint}/b/k", stream=True)) is None
    assert transport.environ(request(f"{endpoint}/b/k", {"x-amz-meta-a_b": "1"})) is None
    assert transport.environ(request(f"{endpoint}/b/k", body=iter([b"x"]))) is None
    with open(__file__, "rb") as fh:  # a file: streamed over HTTP, never read into memory
        assert transport.environ(request(f"{endpoint}/b/k", body=fh)) is None
    env = transport.environ(request(f"{endpoint}/b/a%20b%2Bc?list-type=2&prefix=a%2F",
                                    {"Host": "example", "X-Amz-Date": b"20260101T000000Z"}))
    assert env is not None
    assert (env["PATH_INFO"], env["QUERY_STRING"], env["RAW_URI"]) == (
        "/b/a b+c", "list-type=2&prefix=a%2F", "/b/a%20b%2Bc?list-type=2&prefix=a%2F")
    assert env["HTTP_HOST"] == "example" and env["HTTP_X_AMZ_DATE"] == "20260101T000000Z"
    with pytest.raises(ValueError, match="http://host:port"):
        InProcessTransport("https://example.org", lambda env, start: [])


def test_the_stack_handler_talks_to_moto_in_process(
        stack: tuple[LocalStack, dict[str, Any]]) -> None:
    local_stack, info = stack
    transport = local_stack.moto.transport if local_stack.moto else None
    assert transport is not None
    tokens = sign_in(info["awsEndpoint"], info["region"], info["clientId"],
                     info["username"], info["password"])
    before = transport.calls
    with requests.Session() as session:
        session.trust_env = False
        answer = session.get(f"{info['apiUrl']}/videos",
                             headers={"Authorization": f"Bearer {tokens['IdToken']}"})
    assert answer.status_code == 200 and answer.json()["items"] == []
    assert transport.calls > before  # the handler's DynamoDB query
