"""The strict S3 proxy really is strict: what moto accepts and real S3 refuses is refused here."""

from __future__ import annotations

import base64
import hashlib

import requests


def test_proxy_refuses_what_real_s3_refuses(proxy, demo_api) -> None:
    api, _ = demo_api
    body = b"x" * 1000
    good = base64.b64encode(hashlib.sha256(body).digest()).decode()
    signed = api.upload_url("v_proxycheck0001", content_type="video/mp4", size=len(body),
                            sha256_b64=good)
    url = proxy.rewrite(signed["uploadUrl"])
    headers = dict(signed["headers"])

    chunked = requests.put(url, data=iter([body]), headers=headers, timeout=10)
    assert chunked.status_code == 501 and "NotImplemented" in chunked.text

    wrong = dict(headers, **{"x-amz-checksum-sha256": base64.b64encode(b"0" * 32).decode()})
    digest = requests.put(url, data=body, headers=wrong, timeout=10)
    assert digest.status_code == 400 and "BadDigest" in digest.text

    missing = {k: v for k, v in headers.items() if k.lower() != "x-amz-checksum-sha256"}
    unsigned = requests.put(url, data=body, headers=missing, timeout=10)
    assert unsigned.status_code == 403 and "SignatureDoesNotMatch" in unsigned.text

    proxy.inject("expire")
    expired = requests.put(url, data=body, headers=headers, timeout=10)
    assert expired.status_code == 403 and "Request has expired" in expired.text

    ok = requests.put(url, data=body, headers=headers, timeout=10)
    assert ok.status_code == 200 and ok.headers["ETag"]
