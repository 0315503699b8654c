"""Server-side processing of uploaded recordings (the ``videos-processor`` function).

S3 ``ObjectCreated`` on ``videos/`` → SQS → :func:`handler.lambda_handler`: probe the media,
make the poster thumbnail and the preview sheet, move the record ``uploaded → processing →
ready`` (or ``error`` with its reason). PyAV is imported lazily (``media``): importing this
package needs no PyAV.
"""
