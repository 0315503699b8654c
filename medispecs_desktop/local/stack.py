"""The embedded local stack: moto (S3, DynamoDB, Cognito) + the local API gateway + the real
``videos-handler`` Lambda, all on loopback, in this process.

    stack = LocalStack(port=0, with_samples=True)
    info = stack.start()      # the dict of docs/contract.md §2
    ...
    stack.stop()

moto keeps every byte in memory and forgets it at :meth:`LocalStack.stop`: this is a demo, nothing
is stored (:data:`DEMO_NOTE`). moto's state is process-global, so one stack runs per process; the
desktop app runs it as a child process (``medispecs-desktop local-stack``). The stack patches
moto's DynamoDB first (:mod:`.moto_patches`: transactions and queries that do not copy or walk
the whole table) and refuses to start on a moto those patches were not written for.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
import requests

from medispecs_desktop.local import moto_patches, moto_s3_patches, moto_server_patches
from medispecs_desktop.local.gateway import CorsConfig, LambdaHandler, LocalGateway
from medispecs_desktop.local.inprocess import InProcessTransport
from medispecs_desktop.local.jwt_verify import InvalidTokenError, JwtVerifier, cognito_issuer
from medispecs_desktop.local.provision import (
    DEFAULT_BUCKET,
    DEFAULT_REGION,
    DEFAULT_TABLE,
    Provisioned,
    aws_client,
    provision,
)
from medispecs_desktop.local.servers import ConnectionTrackingMixin, ServerThread, is_loopback_host

__all__ = ["DEMO_NOTE", "LocalStack", "LocalStackError", "MotoServer", "sign_in"]

log = logging.getLogger(__name__)

DEMO_NOTE = "in-memory demo: nothing is stored"
PROCESSING_ENV = "MEDISPECS_STACK_PROCESSING"

_running_lock = threading.Lock()
_running: LocalStack | None = None


# the backend variables (backend/config.py) `local-stack` honours from its environment;
# TABLE_MAIN/S3_BUCKET/S3_REGION are the stack's own, ALLOW_QUERY_USER_ID stays off, and
# LOG_LEVEL sets the backend logger's level in `local-stack` (cli/stack.py)
BACKEND_ENV = frozenset({
    "PRE_SIGNED_URL_EXPIRY", "USER_ID_CLAIM", "MAX_UPLOAD_BYTES", "VERIFY_SHA256_MAX_BYTES",
    "CORS_ALLOW_ORIGIN", "PLAYBACK_URL_EXPIRY", "AUDIT_RETENTION_DAYS",
})


class LocalStackError(RuntimeError):
    """The stack could not start (the message says which part failed)."""


class MotoServer:
    """moto's WSGI app served by werkzeug on loopback, stoppable without stray threads."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if not is_loopback_host(host):
            raise ValueError(f"moto listens on loopback only, not {host!r}")
        self.host = host
        self.port = port
        self._thread: ServerThread | None = None
        self.oauth: Any = None
        self.transport: InProcessTransport | None = None
        """This process's own calls to moto, answered without HTTP (see inprocess.py)."""

    @property
    def endpoint(self) -> str:
        if self._thread is None:
            raise RuntimeError("moto is not running")
        return self._thread.url

    def start(self) -> str:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import ThreadedWSGIServer

        class _Server(ConnectionTrackingMixin, ThreadedWSGIServer):
            daemon_threads = False  # joined by server_close() (see servers.py)
            block_on_close = True

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        from medispecs_desktop.local.cognito_checks import CognitoChecksMiddleware
        from medispecs_desktop.local.cognito_devices import DeviceMiddleware
        from medispecs_desktop.local.oauth_server import OAuthMiddleware
        from medispecs_desktop.local.revoke import RevokeTokenMiddleware

        # moto checks authenticator codes only when asked to (with one secret for everyone)
        os.environ["MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP"] = "true"
        # moto lacks Cognito RevokeToken: answered here, so a sign-out is quiet and real;
        # moto accepts any SRP proof and any reset code: checked here; and it has no managed
        # login and no device tracking: the /oauth2/* pages and devices are served here
        # (see each module)
        self.oauth = OAuthMiddleware(CognitoChecksMiddleware(DeviceMiddleware(
            RevokeTokenMiddleware(DomainDispatcherApplication(create_backend_app)))))
        app = self.oauth
        server = _Server(self.host, self.port, app, handler=MotoRequestHandler)
        self._thread = ServerThread(server, "moto-server")
        self._thread.start()
        self.oauth.endpoint = self.endpoint
        self.transport = InProcessTransport(self.endpoint, app)
        return self.endpoint

    def reset(self) -> None:
        """Drop every resource moto holds (buckets, objects, tables, pools) - frees the RAM."""
        with requests.Session() as session:
            session.trust_env = False
            session.post(f"{self.endpoint}/moto-api/reset", timeout=30).raise_for_status()

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.stop()


def sign_in(
    endpoint: str,
    region: str,
    client_id: str,
    username: str,
    password: str,
    *,
    session: boto3.session.Session | None = None,
    user_pool_id: str = "",
) -> dict[str, Any]:
    """Cognito ``USER_SRP_AUTH`` against the local endpoint -> ``AuthenticationResult``."""
    from medispecs_desktop.local.cognito_login import srp_login

    idp = aws_client("cognito-idp", endpoint, region, session=session)
    try:
        pool_id = user_pool_id or _pool_of(idp, client_id)
        result = srp_login(idp, pool_id, client_id, username, password)
    finally:
        idp.close()
    return dict(result["AuthenticationResult"])


def _pool_of(idp: Any, client_id: str) -> str:
    for pool in idp.list_user_pools(MaxResults=60)["UserPools"]:
        clients = idp.list_user_pool_clients(UserPoolId=pool["Id"], MaxResults=60)
        if any(c["ClientId"] == client_id for c in clients["UserPoolClients"]):
            return str(pool["Id"])
    raise LocalStackError(f"no user pool has the app client {client_id}")


def _lambda_handler(config: Any, clock: Callable[[], float], clients: Any) -> LambdaHandler:
    """The real ``videos-handler`` bound to ``config`` (the backend's ``build_app``)."""
    from medispecs_desktop.backend.handler import build_app

    return build_app(config, clock=clock, clients=clients)


class LocalStack:
    """moto + provisioning + local API gateway + demo data, on loopback (see module doc)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        with_samples: bool = True,
        *,
        region: str = DEFAULT_REGION,
        bucket: str = DEFAULT_BUCKET,
        table: str = DEFAULT_TABLE,
        moto_port: int = 0,
        presign_expiry_seconds: int | None = None,
        clock: Callable[[], float] = time.time,
        environ: Mapping[str, str] | None = None,
        processing: bool | None = None,
    ) -> None:
        if not is_loopback_host(host):
            raise ValueError(
                f"the local stack listens on loopback only (127.0.0.1, ::1, localhost), "
                f"not {host!r}: it has demo passwords and no TLS"
            )
        # "localhost" could resolve to anything /etc/hosts says: bind the loopback address
        self.host = "127.0.0.1" if host.strip().lower() == "localhost" else host
        self.port = port
        self.with_samples = with_samples
        self.region = region
        self.bucket = bucket
        self.table = table
        self.moto_port = moto_port
        self.presign_expiry_seconds = presign_expiry_seconds
        # the Lambda's own variables (PRE_SIGNED_URL_EXPIRY, MAX_UPLOAD_BYTES, ...), read by
        # the backend's own parser; `local-stack` passes os.environ, library callers nothing
        self.environ = dict(environ or {})
        self.clock = clock
        # the server-side pipeline (S3 event -> SQS -> processing handler); on unless
        # MEDISPECS_STACK_PROCESSING=off (the test suite's shared stack keeps statuses still)
        self.processing = processing if processing is not None else (
            self.environ.get(PROCESSING_ENV, "on").strip().lower() not in ("0", "off", "false"))
        self.poller: Any = None
        self.moto: MotoServer | None = None
        self.gateway: LocalGateway | None = None
        self.provisioned: Provisioned | None = None
        self.seeded: list[Any] = []
        self.info: dict[str, Any] | None = None
        self.timings: dict[str, float] = {}
        # one boto3 session for provisioning and the seed's sign-in: service models load once
        self._boto = boto3.session.Session()

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> dict[str, Any]:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> dict[str, Any]:
        """Start everything and return the info dict (contract §2)."""
        global _running
        with _running_lock:
            if self.info is not None:
                return self.info
            if _running is not None:
                raise LocalStackError(
                    "a local stack is already running in this process (moto's state is global)"
                )
            _running = self
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _mark(self, name: str, since: float) -> float:
        now = time.perf_counter()
        self.timings[name] = now - since
        return now

    def _start(self) -> dict[str, Any]:
        t0 = t = time.perf_counter()
        clips_box: dict[str, Any] = {}
        workdir: tempfile.TemporaryDirectory[str] | None = None
        maker: threading.Thread | None = None
        if self.with_samples:
            # PyAV encodes off the GIL: make the demo clips while moto starts and provisions.
            # (Imported here, in this thread: concurrent first imports of one module from two
            # threads can see it half-initialised.)
            import medispecs_desktop.local.seed  # noqa: F401

            workdir = tempfile.TemporaryDirectory(prefix="medispecs-demo-")
            maker = threading.Thread(
                target=self._make_clips, args=(Path(workdir.name), clips_box),
                name="demo-clips", daemon=True,
            )
            maker.start()
        try:
            try:
                # constant time and memory per DynamoDB write, per-partition queries
                moto_patches.apply()
                # a version listing copies only its prefix, not the whole bucket
                moto_s3_patches.apply()
                # a request's service is found without listing moto's package folder
                moto_server_patches.apply()
            except (moto_patches.MotoPatchError, moto_s3_patches.MotoS3PatchError,
                    moto_server_patches.MotoServerPatchError) as exc:
                raise LocalStackError(str(exc)) from exc
            self.moto = MotoServer(self.host, self.moto_port)
            endpoint = self.moto.start()
            self.moto.reset()  # a previous stack in this process may have left state behind
            t = self._mark("moto", t)
            try:
                self.provisioned = provision(
                    endpoint, region=self.region, bucket=self.bucket, table=self.table,
                    session=self._boto,
                )
            except Exception as exc:
                raise LocalStackError(
                    f"could not provision the local AWS resources: {exc}"
                ) from exc
            t = self._mark("provision", t)
            prov = self.provisioned
            jwks_url = f"{endpoint}/{prov.user_pool_id}/.well-known/jwks.json"
            verifier = JwtVerifier(
                jwks_url=jwks_url,
                issuer=cognito_issuer(prov.region, prov.user_pool_id),
                audiences={prov.client_id},
                clock=self.clock,
            )
            try:
                verifier.prefetch()  # fail now, not on the first request
            except InvalidTokenError as exc:
                raise LocalStackError(f"the user pool's JWKS is not served: {exc}") from exc
            config = self._backend_config(endpoint)
            handler = _lambda_handler(config, self.clock, self._clients(config))
            self.gateway = LocalGateway(
                handler,
                verifier,
                host=self.host,
                port=self.port,
                cors=CorsConfig(allow_origins=(config.cors_allow_origin,)),
                clock=self.clock,
            )
            api_url = self.gateway.start()
            t = self._mark("gateway", t)
            queues = self._start_processing(endpoint, config) if self.processing else None
            demo = prov.users[0]
            self.info = {
                "apiUrl": api_url,
                "region": prov.region,
                "userPoolId": prov.user_pool_id,
                "clientId": prov.client_id,
                "username": demo.username,
                "password": demo.password,
                "awsEndpoint": endpoint,
                "jwksUrl": jwks_url,
                "bucket": prov.bucket,
                "table": prov.table,
                "demo": True,
                "note": DEMO_NOTE,
                "users": [{"username": u.username, "password": u.password} for u in prov.users],
                "authDomain": endpoint,
            }
            if queues is not None:
                self.info["processingQueueUrl"] = queues.queue_url
                self.info["processingDlqUrl"] = queues.dlq_url
            if prov.mfa_user is not None:
                self.info["mfaUser"] = {"username": prov.mfa_user.username,
                                        "password": prov.mfa_user.password,
                                        "totpSecret": prov.mfa_user.totp_secret}
            # what IT would hand out (the template's DesktopSettingsJson, + the local endpoint)
            self.info["desktopSettings"] = {
                "api_url": api_url, "region": prov.region, "user_pool_id": prov.user_pool_id,
                "client_id": prov.client_id, "auth_domain": endpoint,
                "cognito_endpoint": endpoint, "demo": True}
            self.moto.oauth.region = prov.region
            self.moto.oauth.desktop_settings = self.info["desktopSettings"]
            if maker is not None:
                maker.join()
                if "error" in clips_box:
                    reason = clips_box["error"]
                    raise LocalStackError(f"could not make the demo recordings: {reason}")
                t = self._mark("clips_wait", t)
                self._seed(api_url, endpoint, clips_box["clips"])
                t = self._mark("seed", t)
        finally:
            if maker is not None:
                maker.join()
            if workdir is not None:
                workdir.cleanup()
        self.timings["total"] = time.perf_counter() - t0
        log.info(
            "local stack ready: API %s, AWS endpoint %s (%s) in %.2f s",
            self.info["apiUrl"], endpoint, DEMO_NOTE, self.timings["total"],
        )
        return self.info

    def _backend_config(self, endpoint: str) -> Any:
        """The Lambda's configuration as AWS would build it from its environment: the
        provisioned table/bucket/region plus :data:`BACKEND_ENV` from ``environ``."""
        from medispecs_desktop.backend.config import BackendConfig, ConfigError

        assert self.provisioned is not None
        env = {k: v for k, v in self.environ.items() if k in BACKEND_ENV}
        env.update(TABLE_MAIN=self.provisioned.table, S3_BUCKET=self.provisioned.bucket,
                   S3_REGION=self.provisioned.region, AUDIT_TABLE=self.provisioned.audit_table)
        if self.presign_expiry_seconds is not None:
            env["PRE_SIGNED_URL_EXPIRY"] = str(self.presign_expiry_seconds)
        try:
            config = BackendConfig.from_env(env)
        except ConfigError as exc:
            raise LocalStackError(f"bad backend setting: {exc}") from None
        return replace(
            config,
            # never on the local gateway: every request carries the verified token's claims
            allow_query_user_id=False,
            endpoint_url=endpoint,
            aws_access_key_id="local",
            aws_secret_access_key="local",
            s3_addressing_style="path",
        )

    def _clients(self, config: Any) -> Any:
        """The handlers' AWS clients: their calls to moto answered in this process."""
        from medispecs_desktop.backend.aws import AwsClients

        assert self.moto is not None
        return AwsClients(config, before_send=self.moto.transport)

    def _start_processing(self, endpoint: str, config: Any) -> Any:
        """The bucket's events to a queue, and a poller running the processing handler."""
        from medispecs_desktop.backend.processing.handler import build_processor
        from medispecs_desktop.local.processing import QueuePoller, provision_processing

        assert self.provisioned is not None
        queues = provision_processing(endpoint, self.region, self.provisioned.bucket,
                                      session=self._boto)
        app = build_processor(config, queue_url=queues.queue_url, clock=self.clock,
                              clients=self._clients(config))
        self.poller = QueuePoller(app, queues, endpoint, self.region, session=self._boto)
        self.poller.start()
        return queues

    @staticmethod
    def _make_clips(folder: Path, box: dict[str, Any]) -> None:
        try:
            from medispecs_desktop.local.seed import make_demo_clips

            box["clips"] = make_demo_clips(folder)
        except Exception as exc:  # noqa: BLE001 - handed to _start, which reports it
            box["error"] = exc

    def _seed(self, api_url: str, endpoint: str, clips: Any) -> None:
        from medispecs_desktop.local.seed import seed_library

        assert self.provisioned is not None
        demo = self.provisioned.users[0]
        tokens = sign_in(endpoint, self.region, self.provisioned.client_id,
                         demo.username, demo.password, session=self._boto,
                         user_pool_id=self.provisioned.user_pool_id)
        try:
            self.seeded = seed_library(api_url, tokens["IdToken"], clips)
        except Exception as exc:
            raise LocalStackError(f"could not upload the demo recordings: {exc}") from exc

    def stop(self) -> None:
        """Stop the gateway, then moto (dropping everything it held). Safe to call twice."""
        started = time.perf_counter()
        gateway, self.gateway = self.gateway, None
        moto, self.moto = self.moto, None
        poller, self.poller = self.poller, None
        if poller is not None:
            poller.stop()
        if gateway is None and moto is None:
            self._release()  # a start that failed before moto ran still frees the process
            return
        if gateway is not None:
            gateway.stop()
        if moto is not None:
            try:
                moto.reset()
            except (requests.RequestException, RuntimeError) as exc:
                log.debug("moto reset at stop failed: %s", exc)
            moto.stop()
        self.info = None
        self._release()
        log.info("local stack stopped in %.2f s", time.perf_counter() - started)

    def _release(self) -> None:
        global _running
        with _running_lock:
            if _running is self:
                _running = None
