# The videos-processor Lambda (packaging/template.yaml ProcessingFunction): a container image,
# because PyAV's wheel (FFmpeg inside, ~60 MB) + numpy exceed what a zip layer comfortably holds.
#
#   docker build -f packaging/processing.Dockerfile -t medispecs-processing .   (from the repo root)
#
# Dependencies come from the lock (uv.lock) at exactly its versions and hashes: av 18.1 (FFmpeg
# 8.1 libraries LGPL-3.0-or-later, but the wheel links libx264/libx265, GPL-2.0-or-later: the
# image as built is GPL software - packaging/THIRD_PARTY_LICENSES.md "PyAV and the GPL"; the
# function runs it as a service and does not distribute it), numpy (BSD-3-Clause),
# boto3/botocore/s3transfer (Apache-2.0), jmespath/six/urllib3 (MIT), python-dateutil
# (Apache-2.0/BSD).
FROM ghcr.io/astral-sh/uv:0.5 AS uv

FROM public.ecr.aws/lambda/python:3.13 AS build
COPY --from=uv /uv /usr/local/bin/uv
WORKDIR /src
COPY pyproject.toml uv.lock ./
# the lock's pins of what the function imports, with hashes
RUN uv export --frozen --no-dev --no-emit-project --format requirements-txt \
        --no-header --no-annotate -o /tmp/all.txt \
 && python - <<'PY'
import re
keep = {"av", "numpy", "boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six",
        "urllib3"}
out, take = [], False
for line in open("/tmp/all.txt"):
    if line and not line[0].isspace():
        name = re.split(r"[=<>;\s\[]", line, maxsplit=1)[0].lower()
        take = name in keep
    if take:
        out.append(line)
open("/tmp/processing.txt", "w").write("".join(out))
PY
RUN pip install --no-cache-dir --require-hashes --only-binary=:all: \
        -r /tmp/processing.txt --target /opt/deps

FROM public.ecr.aws/lambda/python:3.13
COPY --from=build /opt/deps ${LAMBDA_TASK_ROOT}/
# the backend only (no __init__ of medispecs_desktop: nothing of the desktop app can load)
COPY medispecs_desktop/backend ${LAMBDA_TASK_ROOT}/medispecs_desktop/backend
CMD ["medispecs_desktop.backend.processing.handler.lambda_handler"]
