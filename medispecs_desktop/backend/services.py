"""The domain services of one configured backend, built once and shared by every route (the API
function), the scheduled jobs and the processing function."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from .audit import AuditLog
from .aws import AwsClients
from .config import BackendConfig
from .markers import MarkerService
from .storage import VideoStorage
from .store import VideoStore
from .thumbnails import ThumbnailService
from .trash import TrashService
from .uploads import UploadService
from .videos import VideoCatalog

__all__ = ["Services"]


@dataclass(frozen=True, slots=True)
class Services:
    config: BackendConfig
    store: VideoStore
    storage: VideoStorage
    videos: VideoCatalog
    uploads: UploadService
    thumbnails: ThumbnailService
    markers: MarkerService
    trash: TrashService
    audit: AuditLog
    clock: Callable[[], float]

    @classmethod
    def build(cls, config: BackendConfig, clients: AwsClients, *,
              clock: Callable[[], float] = time.time) -> Services:
        """Services over ``clients`` (created lazily, on the first AWS call)."""
        store = VideoStore(lambda: clients.dynamodb, config.table_name)
        storage = VideoStorage(lambda: clients.s3, config.bucket,
                               config.presign_expiry_seconds, config.playback_expiry_seconds,
                               credentials=clients.s3_credentials)
        thumbnails = ThumbnailService(storage)
        videos = VideoCatalog(config, store, storage, thumbnails, clock=clock)
        return cls(
            config=config,
            store=store,
            storage=storage,
            videos=videos,
            uploads=UploadService(config, store, storage, videos, clock=clock),
            thumbnails=thumbnails,
            markers=MarkerService(store, clock=clock, storage=storage),
            trash=TrashService(store, storage, retention_days=config.trash_retention_days,
                               clock=clock),
            audit=AuditLog(lambda: clients.dynamodb, config, store, clock=clock),
            clock=clock,
        )
