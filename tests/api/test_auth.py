"""OAuth2 client credentials, bearer tokens and the account endpoint."""

from __future__ import annotations

import base64
import stat
import time

import jwt
import pytest

from eobatch.api import create_app
from eobatch.api.auth import load_secret
from eobatch.errors import Unauthorized
from eobatch.settings import Settings
from eobatch.store.accounts import create_account, verify_client
from tests.api.conftest import Caller


def assert_sh_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["status"] == status
    assert error["code"] == code
    assert error["reason"] and error["message"]
    return error


@pytest.mark.parametrize("path", ["/oauth/token", "/auth/realms/main/protocol/openid-connect/token"])
def test_token_endpoints_issue_jwt_with_claims(client, alice: Caller, api_settings, path):
    response = client.post(
        path,
        data={"grant_type": "client_credentials", "client_id": alice.client_id, "client_secret": alice.client_secret},
    )
    assert response.status_code == 200
    token = response.json()
    assert token["token_type"] == "Bearer"
    assert isinstance(token["expires_in"], int) and token["expires_in"] == api_settings.token_lifetime_s
    claims = jwt.decode(token["access_token"], load_secret(api_settings), algorithms=["HS256"])
    assert claims["sub"] == alice.account_id
    assert claims["azp"] == alice.client_id
    assert claims["exp"] - claims["iat"] == api_settings.token_lifetime_s
    me = client.get("/api/v1/accounts/me", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert me.json()["id"] == alice.account_id


def test_token_with_http_basic_auth(client, alice: Caller):
    basic = base64.b64encode(f"{alice.client_id}:{alice.client_secret}".encode()).decode()
    response = client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    )
    assert response.status_code == 200
    assert response.json()["access_token"].count(".") == 2


@pytest.mark.parametrize(
    "form",
    [
        pytest.param({"client_secret": "wrong"}, id="wrong-secret"),
        pytest.param({"client_id": "no-such-client"}, id="unknown-client"),
        pytest.param({"client_secret": ""}, id="empty-secret"),
    ],
)
def test_bad_client_credentials_are_invalid_client(client, alice: Caller, form):
    data = {
        "grant_type": "client_credentials",
        "client_id": alice.client_id,
        "client_secret": alice.client_secret,
        **form,
    }
    response = client.post("/oauth/token", data=data)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.json()["error_description"]


def test_unsupported_grant_type(client, alice: Caller):
    response = client.post(
        "/oauth/token",
        data={"grant_type": "password", "client_id": alice.client_id, "client_secret": alice.client_secret},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing"),
        pytest.param({"Authorization": "Bearer not.a.jwt"}, id="garbage"),
        pytest.param({"Authorization": "Token abc"}, id="wrong-scheme"),
    ],
)
def test_batch_routes_need_a_valid_token(client, alice: Caller, headers):
    for method, path in [
        ("GET", "/api/v1/batch/process"),
        ("POST", "/api/v1/batch/process"),
        ("GET", "/api/v1/batch/tilinggrids"),
        ("GET", "/api/v1/accounts/me"),
        ("POST", "/api/v1/batch/process/x/start"),
    ]:
        response = client.request(method, path, headers=headers)
        assert_sh_error(response, 401, "COMMON_UNAUTHORIZED")
        assert response.headers["www-authenticate"] == "Bearer"


def test_expired_and_foreign_tokens_are_rejected(client, alice: Caller, api_settings):
    now = int(time.time())
    expired = jwt.encode(
        {"sub": alice.account_id, "azp": alice.client_id, "iat": now - 7200, "exp": now - 3600},
        load_secret(api_settings),
        algorithm="HS256",
    )
    error = assert_sh_error(
        client.get("/api/v1/batch/process", headers={"Authorization": f"Bearer {expired}"}), 401, "COMMON_UNAUTHORIZED"
    )
    assert "expired" in error["message"]
    other_key = "another-secret-that-is-long-enough-for-hs256"
    forged = jwt.encode({"sub": alice.account_id, "iat": now, "exp": now + 60}, other_key, algorithm="HS256")
    assert_sh_error(
        client.get("/api/v1/batch/process", headers={"Authorization": f"Bearer {forged}"}), 401, "COMMON_UNAUTHORIZED"
    )


def test_secret_file_is_private_and_shared_by_apps(tmp_path, db):
    settings = Settings(data_dir=tmp_path / "fresh")
    database = db
    first = create_app(settings, database).state.tokens.secret
    path = settings.data_dir / "jwt-secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert create_app(settings, database).state.tokens.secret == first
    configured = settings.model_copy(update={"jwt_secret": "configured-secret"})
    assert create_app(configured, database).state.tokens.secret == "configured-secret"


def test_account_me_reports_the_initial_grant(client, alice: Caller, api_settings):
    response = client.get("/api/v1/accounts/me", headers=alice.headers)
    assert response.status_code == 200
    me = response.json()
    assert me["name"] == "alice"
    assert me["balance"] == {"available": api_settings.initial_pu_grant, "reserved": 0.0, "spent": 0.0}
    assert me["reservations"] == []


def test_verify_client_store(db, api_settings):
    with db.session() as session:
        account, client_id, secret = create_account(session, "carol", api_settings)
        assert verify_client(session, client_id, secret).id == account.id
        with pytest.raises(Unauthorized):
            verify_client(session, client_id, secret + "x")
        with pytest.raises(Unauthorized):
            verify_client(session, "nobody", secret)
        from eobatch.store.models import Client

        stored = session.get(Client, client_id).secret_hash
        assert secret not in stored and stored.startswith("$argon2")
