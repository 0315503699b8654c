"""Provision the embedded stack's AWS resources on a moto endpoint.

What a real deployment's template creates, on ``endpoint_url`` instead of AWS:

- S3 bucket (``medispecs-videos``), versioned, with CORS for the desktop's direct PUT/GET through
  pre-signed URLs and lifecycle rules that expire noncurrent versions after the Trash's window
  and abort incomplete multipart uploads after a few days;
- DynamoDB table ``AppMain`` exactly as ``backend.schema.create_table_kwargs`` declares it, and
  the audit trail ``AppAudit`` (``backend.audit.create_audit_table_kwargs``);
- a Cognito user pool (MFA optional, authenticator apps allowed), a public app client (no
  secret; USER_SRP_AUTH + REFRESH_TOKEN_AUTH, and the authorization-code flow with loopback
  callback URLs for the browser sign-in), demo users with permanent passwords (``demo``, plus
  ``demo2`` to show isolation) and ``demo-mfa``, whose sign-in asks for an authenticator code.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

from medispecs_desktop.backend.audit import DEFAULT_AUDIT_TABLE_NAME, create_audit_table_kwargs
from medispecs_desktop.backend.config import DEFAULT_TRASH_RETENTION_DAYS
from medispecs_desktop.backend.schema import create_table_kwargs

__all__ = [
    "DEFAULT_BUCKET",
    "DEFAULT_REGION",
    "DEFAULT_TABLE",
    "DemoUser",
    "Provisioned",
    "aws_client",
    "new_demo_password",
    "provision",
]

DEFAULT_REGION = "ap-southeast-1"
DEFAULT_BUCKET = "medispecs-videos"
DEFAULT_TABLE = "AppMain"
ABORT_INCOMPLETE_MULTIPART_DAYS = 3
OAUTH_SCOPES = ["openid", "email", "profile", "aws.cognito.signin.user.admin"]
# RFC 8252 §7.3: a loopback callback matches any port (the local login page honours that)
LOOPBACK_CALLBACKS = ("http://127.0.0.1/callback", "http://localhost/callback")

# moto never checks credentials; fixed dummy ones keep boto3 from looking for real ones
# (and from ever sending a developer's real keys to the local endpoint).
_LOCAL_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    email: str
    sub: str = ""
    totp_secret: str = ""


@dataclass(frozen=True)
class Provisioned:
    region: str
    bucket: str
    table: str
    user_pool_id: str
    client_id: str
    users: tuple[DemoUser, ...] = field(default_factory=tuple)
    audit_table: str = DEFAULT_AUDIT_TABLE_NAME
    mfa_user: DemoUser | None = None


def aws_client(
    service: str, endpoint_url: str, region: str, *, session: boto3.session.Session | None = None
) -> Any:
    """A boto3 client for ``service`` on the local endpoint (dummy credentials, SigV4, no
    retries beyond the standard mode, path-style S3). Clients made from one ``session`` share
    its loaded service models (faster)."""
    return (session or boto3.session.Session()).client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint_url,
        region_name=region,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"mode": "standard", "max_attempts": 3},
            connect_timeout=5,
            read_timeout=30,
        ),
        **_LOCAL_CREDENTIALS,
    )


def new_demo_password() -> str:
    """A random password meeting Cognito's default policy (upper, lower, digit, symbol)."""
    core = secrets.token_urlsafe(12).replace("-", "x").replace("_", "y")
    return f"Demo-{core}7a!"


def _bucket(s3: Any, bucket: str, region: str) -> None:
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**kwargs)
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration={
            "CORSRules": [
                {
                    "AllowedOrigins": ["*"],
                    "AllowedMethods": ["GET", "PUT", "HEAD"],
                    "AllowedHeaders": ["*"],
                    "ExposeHeaders": ["ETag", "x-amz-checksum-sha256", "Content-Range"],
                    "MaxAgeSeconds": 3000,
                }
            ]
        },
    )
    # versioned like the template's bucket: an overwritten or deleted object stays recoverable
    # as a noncurrent version for the Trash's retention window
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "abort-incomplete-multipart-uploads",
                    "Status": "Enabled",
                    "Filter": {"Prefix": ""},
                    "AbortIncompleteMultipartUpload": {
                        "DaysAfterInitiation": ABORT_INCOMPLETE_MULTIPART_DAYS
                    },
                },
                {
                    "ID": "expire-noncurrent-versions",
                    "Status": "Enabled",
                    "Filter": {"Prefix": ""},
                    "NoncurrentVersionExpiration": {
                        "NoncurrentDays": DEFAULT_TRASH_RETENTION_DAYS
                    },
                },
            ]
        },
    )


def _user(idp: Any, pool_id: str, username: str) -> DemoUser:
    password = new_demo_password()
    email = f"{username}@example.org"
    created = idp.admin_create_user(
        UserPoolId=pool_id,
        Username=username,
        UserAttributes=[
            {"Name": "email", "Value": email},
            {"Name": "email_verified", "Value": "true"},
            {"Name": "name", "Value": f"Demo clinician ({username})"},
        ],
        MessageAction="SUPPRESS",
    )
    idp.admin_set_user_password(
        UserPoolId=pool_id, Username=username, Password=password, Permanent=True
    )
    sub = ""
    for attr in created.get("User", {}).get("Attributes", []):
        if attr.get("Name") == "sub":
            sub = str(attr.get("Value", ""))
    return DemoUser(username=username, password=password, email=email, sub=sub)


def _mfa_user(idp: Any, pool_id: str, client_id: str, username: str = "demo-mfa") -> DemoUser:
    """A demo user whose sign-in asks for an authenticator code: enrolled the way the app
    enrols (AssociateSoftwareToken -> VerifySoftwareToken -> SetUserMFAPreference)."""
    import pyotp

    from medispecs_desktop.local.cognito_login import srp_login

    user = _user(idp, pool_id, username)
    tokens = srp_login(idp, pool_id, client_id, user.username, user.password)
    access = tokens["AuthenticationResult"]["AccessToken"]
    secret = str(idp.associate_software_token(AccessToken=access)["SecretCode"])
    idp.verify_software_token(AccessToken=access, UserCode=pyotp.TOTP(secret).now(),
                              FriendlyDeviceName="demo authenticator")
    idp.set_user_mfa_preference(
        AccessToken=access, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True})
    return DemoUser(user.username, user.password, user.email, user.sub, totp_secret=secret)


def provision(
    endpoint_url: str,
    *,
    region: str = DEFAULT_REGION,
    bucket: str = DEFAULT_BUCKET,
    table: str = DEFAULT_TABLE,
    usernames: tuple[str, ...] = ("demo", "demo2"),
    mfa_username: str = "demo-mfa",
    session: boto3.session.Session | None = None,
) -> Provisioned:
    """Create every resource on ``endpoint_url`` (an empty moto server) and return their ids."""
    session = session or boto3.session.Session()
    s3 = aws_client("s3", endpoint_url, region, session=session)
    ddb = aws_client("dynamodb", endpoint_url, region, session=session)
    idp = aws_client("cognito-idp", endpoint_url, region, session=session)
    try:
        _bucket(s3, bucket, region)
        ddb.create_table(**create_table_kwargs(table))
        ddb.create_table(**create_audit_table_kwargs(DEFAULT_AUDIT_TABLE_NAME))
        pool = idp.create_user_pool(
            PoolName="medispecs-local",
            Policies={
                "PasswordPolicy": {
                    "MinimumLength": 12,
                    "RequireUppercase": True,
                    "RequireLowercase": True,
                    "RequireNumbers": True,
                    "RequireSymbols": True,
                }
            },
            AutoVerifiedAttributes=["email"],
            AccountRecoverySetting={
                "RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]},
            # "remember this device" skips the MFA step on a computer the user chose
            DeviceConfiguration={"ChallengeRequiredOnNewDevice": True,
                                 "DeviceOnlyRememberedOnUserPrompt": True},
            AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
        )["UserPool"]
        pool_id = str(pool["Id"])
        client = idp.create_user_pool_client(
            UserPoolId=pool_id,
            ClientName="medispecs-desktop",
            GenerateSecret=False,
            ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            # managed login (the local stack's /oauth2/*): code + PKCE to a loopback port
            AllowedOAuthFlows=["code"],
            AllowedOAuthFlowsUserPoolClient=True,
            AllowedOAuthScopes=OAUTH_SCOPES,
            CallbackURLs=list(LOOPBACK_CALLBACKS),
            SupportedIdentityProviders=["COGNITO"],
            PreventUserExistenceErrors="ENABLED",
            # the ID token carries what the client may read: without these the app knows
            # only the username ("demo"), not the clinician's name and e-mail
            ReadAttributes=["email", "email_verified", "name"],
            WriteAttributes=["email", "name"],
            AccessTokenValidity=60,
            IdTokenValidity=60,
            RefreshTokenValidity=30,
            TokenValidityUnits={
                "AccessToken": "minutes",
                "IdToken": "minutes",
                "RefreshToken": "days",
            },
        )["UserPoolClient"]
        idp.set_user_pool_mfa_config(
            UserPoolId=pool_id, MfaConfiguration="OPTIONAL",
            SoftwareTokenMfaConfiguration={"Enabled": True})
        users = tuple(_user(idp, pool_id, name) for name in usernames)
        mfa_user = (_mfa_user(idp, pool_id, str(client["ClientId"]), mfa_username)
                    if mfa_username else None)
    finally:
        for c in (s3, ddb, idp):
            c.close()
    return Provisioned(
        region=region,
        bucket=bucket,
        table=table,
        user_pool_id=pool_id,
        client_id=str(client["ClientId"]),
        users=users,
        mfa_user=mfa_user,
    )
