"""Sign-in for the local stack: the template's Cognito user pool on moto, and the check API Gateway's JWT
authorizer makes in the cloud (RS256 signature against the pool's JWKS, issuer, audience, expiry, token use).

moto runs no user-pool triggers. The template's pre token generation trigger (``PreTokenFunction``: admin
rights only with MFA) therefore runs here on every verified token's claims, through the same handler,
and its V2_0 response is applied as Cognito applies it when it writes a token. Accounts this module
enrols in MFA keep their TOTP secret here: locally the stack is their authenticator app.

moto signs every pool's tokens with one key whose private half ships with moto: such tokens prove nothing
outside this machine, which is why this module lives in ``pipeline/local`` and the cloud relies on API
Gateway's authorizer instead.
"""

from __future__ import annotations

import base64
import json
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicNumbers
from cryptography.hazmat.primitives.twofactor.totp import TOTP

from pipeline.access.claims import GROUPS_CLAIM, groups_of
from pipeline.access.mfa import MFA_REQUIRED_GROUPS, apply_v2_response
from pipeline.local.lambdas import LocalContext, load_handler

if TYPE_CHECKING:
    from pipeline.local.template import Stack

PreTokenTrigger = Callable[[dict[str, Any]], dict[str, Any]]
"""Runs the pool's pre token generation function: its V2_0 event in, the event with its response out."""

LOCAL_SIGN_IN_FLOW = "ALLOW_USER_PASSWORD_AUTH"
"""The flow the dev sign-in page uses; the local client adds it to the template's (which lacks it)."""


class TokenError(Exception):
    """The bearer token is missing, malformed, forged, expired or for another pool or client."""


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _moto_jwks() -> dict[str, Any]:
    from moto.utilities.utils import load_resource

    jwks: dict[str, Any] = load_resource("cognitoidp/resources/jwks-public.json")
    return jwks


@dataclass(frozen=True)
class JwtAuthorizer:
    """What API Gateway's JWT authorizer checks, for one issuer and audience."""

    issuer: str
    audience: str
    jwks: dict[str, Any]
    pre_token: PreTokenTrigger | None = None

    def claims(self, authorization: str | None, now: float | None = None) -> dict[str, Any]:
        claims = self._verified(authorization)
        self._check(claims, time.time() if now is None else now)
        return claims if self.pre_token is None else self._triggered(claims)

    def _verified(self, authorization: str | None) -> dict[str, Any]:
        """The payload of a well-formed RS256 JWT signed by a key of the pool's JWKS."""
        token = (authorization or "").removeprefix("Bearer ").strip()
        parts = token.split(".")
        if len(parts) != 3:
            raise TokenError("no bearer token: send Authorization: Bearer <Cognito ID token>")
        try:
            header = json.loads(_b64url(parts[0]))
            claims: dict[str, Any] = json.loads(_b64url(parts[1]))
            signature = _b64url(parts[2])
        except ValueError as exc:
            raise TokenError("the token is not a JWT") from exc
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise TokenError("the token is not a JWT")
        if header.get("alg") != "RS256":
            raise TokenError("only RS256 tokens are accepted")
        key = next((k for k in self.jwks.get("keys", []) if k.get("kid") == header.get("kid")), None)
        if key is None:
            raise TokenError("the token's key is not in the user pool's JWKS")
        public = RSAPublicNumbers(
            int.from_bytes(_b64url(key["e"]), "big"), int.from_bytes(_b64url(key["n"]), "big")
        ).public_key()
        try:
            public.verify(signature, f"{parts[0]}.{parts[1]}".encode(), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature as exc:
            raise TokenError("the token's signature does not verify") from exc
        return claims

    def _check(self, claims: dict[str, Any], moment: float) -> None:
        """Issuer, audience, validity window and token use, as the authorizer checks them."""
        if claims.get("iss") != self.issuer:
            raise TokenError("the token is from another user pool")
        if self.audience not in (claims.get("aud"), claims.get("client_id")):
            raise TokenError("the token is for another client")
        # NumericDate (RFC 7519): a JSON number. float("inf"), float("nan") and "1e99" strings are not times.
        expires, not_before = claims.get("exp"), claims.get("nbf", 0)
        for value in (expires, not_before):
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise TokenError("the token's exp/nbf are not numeric dates")
        assert isinstance(expires, int | float) and isinstance(not_before, int | float)
        if expires <= moment:
            raise TokenError("the token has expired: sign in again")
        if not_before > moment:
            raise TokenError("the token is not valid yet")
        if claims.get("token_use") not in ("id", "access"):
            raise TokenError("not a Cognito ID or access token")

    def _triggered(self, claims: dict[str, Any]) -> dict[str, Any]:
        """The claims as Cognito would have written them with the pool's pre token generation trigger."""
        assert self.pre_token is not None
        username = claims.get("cognito:username") or claims.get("username") or claims.get("sub")
        event: dict[str, Any] = {
            "version": "2",
            "triggerSource": "TokenGeneration_Authentication",
            "region": self.issuer.split(".")[1] if self.issuer.count(".") >= 2 else "us-east-1",
            "userPoolId": self.issuer.rsplit("/", 1)[-1],
            "userName": str(username),
            "callerContext": {"awsSdkVersion": "coursepipe-local", "clientId": self.audience},
            "request": {
                "userAttributes": {k: str(claims[k]) for k in ("sub", "email") if k in claims},
                "groupConfiguration": {
                    "groupsToOverride": sorted(groups_of(claims)) if GROUPS_CLAIM in claims else [],
                    "iamRolesToOverride": [],
                    "preferredRole": None,
                },
                "scopes": str(claims.get("scope") or "").split(),
            },
            "response": {"claimsAndScopeOverrideDetails": None},
        }
        try:
            result = self.pre_token(event)
        except Exception as exc:  # Cognito fails the sign-in when its trigger fails
            raise TokenError(f"the user pool's pre token generation trigger failed: {exc}") from exc
        return apply_v2_response(claims, (result or {}).get("response") or {})


def api_gateway_claims(claims: dict[str, Any]) -> dict[str, str]:
    """HTTP API hands claims to Lambda as strings; arrays become ``[a b]``."""
    return {
        k: ("[" + " ".join(map(str, v)) + "]" if isinstance(v, list) else str(v)) for k, v in claims.items()
    }


def authorize_event(authorizer: JwtAuthorizer, event: dict[str, Any]) -> dict[str, Any] | None:
    """What an HTTP API JWT authorizer does before a route's function runs: API Gateway's 401 (returned) for
    a missing or bad token; otherwise the verified claims in ``requestContext.authorizer.jwt`` (and None)."""
    headers = event.get("headers") or {}
    try:
        claims = authorizer.claims(headers.get("authorization"))
    except TokenError as exc:
        return {
            "statusCode": 401,
            "headers": {"Content-Type": "application/json", "www-authenticate": "Bearer"},
            "body": json.dumps({"message": "Unauthorized", "detail": str(exc)}),
        }
    event.setdefault("requestContext", {})["authorizer"] = {
        "jwt": {"claims": api_gateway_claims(claims), "scopes": None}
    }
    return None


@dataclass
class LocalIdentity:
    """The user pool, its groups and the player client, created on moto from template.yaml."""

    pool_id: str
    client_id: str
    region: str
    pre_token: PreTokenTrigger | None = None
    totp_secrets: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls, stack: Stack, cognito: Any) -> LocalIdentity:
        pools = stack.of_type("AWS::Cognito::UserPool")
        ((pool_logical, pool),) = pools.items()
        props = stack.resolve(pool.get("Properties", {}))
        trigger = ((props.get("LambdaConfig") or {}).get("PreTokenGenerationConfig") or {}).get("LambdaArn")
        pre_token = _trigger(stack, str(trigger)) if trigger else None
        created = cognito.create_user_pool(
            PoolName=props["UserPoolName"],
            UsernameAttributes=props.get("UsernameAttributes", []),
            AutoVerifiedAttributes=props.get("AutoVerifiedAttributes", []),
        )["UserPool"]
        pool_id = created["Id"]
        for group in stack.of_type("AWS::Cognito::UserPoolGroup").values():
            gprops = group["Properties"]
            cognito.create_group(
                UserPoolId=pool_id,
                GroupName=gprops["GroupName"],
                Description=gprops.get("Description", ""),
                Precedence=int(gprops.get("Precedence", 0)),
            )
        ((_, client),) = stack.of_type("AWS::Cognito::UserPoolClient").items()
        cprops = client["Properties"]
        client_id = cognito.create_user_pool_client(
            UserPoolId=pool_id,
            ClientName=str(stack.resolve(cprops["ClientName"])),
            GenerateSecret=False,
            # The cloud client has no USER_PASSWORD_AUTH (template.yaml); the local dev sign-in page uses it
            # against moto only, which has no SRP verifier to sign in with.
            ExplicitAuthFlows=[*cprops.get("ExplicitAuthFlows", []), LOCAL_SIGN_IN_FLOW],
        )["UserPoolClient"]["ClientId"]
        del pool_logical
        return cls(pool_id=pool_id, client_id=client_id, region=stack.region, pre_token=pre_token)

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.pool_id}"

    def authorizer(self) -> JwtAuthorizer:
        return JwtAuthorizer(
            issuer=self.issuer, audience=self.client_id, jwks=_moto_jwks(), pre_token=self.pre_token
        )

    def add_user(
        self,
        cognito: Any,
        email: str,
        *,
        groups: tuple[str, ...] = (),
        password: str | None = None,
        mfa: bool | None = None,
    ) -> str:
        """Create a confirmed user (what an admin invite plus first sign-in leaves); return the password.
        ``mfa`` enrols a TOTP authenticator (by default for admins, whose rights need it)."""
        password = password or f"Local-{secrets.token_urlsafe(12)}1a"
        cognito.admin_create_user(
            UserPoolId=self.pool_id,
            Username=email,
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
            MessageAction="SUPPRESS",
        )
        cognito.admin_set_user_password(
            UserPoolId=self.pool_id, Username=email, Password=password, Permanent=True
        )
        for group in groups:
            cognito.admin_add_user_to_group(UserPoolId=self.pool_id, Username=email, GroupName=group)
        if mfa if mfa is not None else bool(MFA_REQUIRED_GROUPS & set(groups)):
            self.enrol_totp(cognito, email, password)
        return password

    def enrol_totp(self, cognito: Any, email: str, password: str) -> None:
        """What an operator does once with an authenticator app: associate, verify a code, enable."""
        tokens = cognito.initiate_auth(
            ClientId=self.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": password},
        )["AuthenticationResult"]
        secret = str(cognito.associate_software_token(AccessToken=tokens["AccessToken"])["SecretCode"])
        cognito.verify_software_token(
            AccessToken=tokens["AccessToken"], UserCode=totp_code(secret), FriendlyDeviceName="coursepipe"
        )
        cognito.admin_set_user_mfa_preference(
            UserPoolId=self.pool_id,
            Username=email,
            SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True},
        )
        self.totp_secrets[email] = secret

    def user_sub(self, cognito: Any, email: str) -> str:
        user = cognito.admin_get_user(UserPoolId=self.pool_id, Username=email)
        return next(str(a["Value"]) for a in user["UserAttributes"] if a["Name"] == "sub")

    def sign_in(self, cognito: Any, email: str, password: str) -> str:
        """USER_PASSWORD_AUTH (local only: player apps in the cloud use SRP); return the ID token."""
        result = cognito.initiate_auth(
            ClientId=self.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": password},
        )
        if result.get("ChallengeName") == "SOFTWARE_TOKEN_MFA":
            secret = self.totp_secrets.get(email)
            if secret is None:
                raise TokenError(f"{email} has MFA enabled and this stack does not hold its authenticator")
            result = cognito.respond_to_auth_challenge(
                ClientId=self.client_id,
                ChallengeName="SOFTWARE_TOKEN_MFA",
                Session=result["Session"],
                ChallengeResponses={"USERNAME": email, "SOFTWARE_TOKEN_MFA_CODE": totp_code(secret)},
            )
        return str(result["AuthenticationResult"]["IdToken"])


def _trigger(stack: Stack, arn: str) -> PreTokenTrigger:
    """The template's function behind a trigger ARN, run in this process as Cognito runs it: at once, and
    waited for (no concurrency slot, which an encode may hold for a minute)."""
    found = [f for f in stack.of_type("AWS::Serverless::Function") if stack.arn(f) == arn]
    if not found:
        raise ValueError(f"the user pool's trigger {arn} is not a function of the template")
    logical = found[0]
    handler = str(stack.props(logical)["Handler"])
    context = (
        stack.physical_name(logical),
        int(stack.function_setting(logical, "MemorySize", 128)),
        arn,
        float(stack.function_setting(logical, "Timeout", 3)),
    )

    def run(event: dict[str, Any]) -> dict[str, Any]:
        return dict(load_handler(handler)(event, LocalContext(*context)))

    return run


def totp_code(secret: str) -> str:
    """The current RFC 6238 code (6 digits, SHA-1, 30 s) for a base32 secret, as authenticator apps make."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    return TOTP(key, 6, hashes.SHA1(), 30, enforce_key_length=False).generate(time.time()).decode()
