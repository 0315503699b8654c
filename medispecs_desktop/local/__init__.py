"""The embedded local stack: everything the cloud side does, on loopback, in memory.

- :mod:`.stack` - ``LocalStack``: moto (S3, DynamoDB, Cognito) + provisioning + the local API
  gateway running the real ``videos-handler`` + demo recordings. ``medispecs-desktop
  local-stack`` (:mod:`medispecs_desktop.cli.stack`) runs it and prints one JSON line.
- :mod:`.provision` - bucket (CORS, lifecycle, public access block), ``AppMain``, user pool,
  public app client, demo users.
- :mod:`.gateway` - HTTP -> API Gateway HTTP API payload-2.0 events -> handler, with the JWT
  authorizer's checks (:mod:`.jwt_verify`) and API Gateway's own 401/404/413/204 answers.
- :mod:`.seed` - demo clips uploaded through the real API flow; :mod:`.samples` makes clips.
- :mod:`.child` - run the stack as a child process and read its JSON line (tests, tools).
- :mod:`.moto_patches` - moto DynamoDB fixes the stack applies so a 10,000-recording library
  keeps constant time and memory per write and per listing page.

It is a demo: moto keeps every byte in memory and forgets it when the stack stops.
"""
