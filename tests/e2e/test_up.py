"""``coursepipe up`` as a user runs it: a separate process on free ports, driven by ``coursepipe upload``,
the real aws CLI and plain HTTP, then stopped with Ctrl-C."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pipeline.local.identity import totp_code
from pipeline.local.samples import SAMPLE_COURSE_ID, materialize_sample_course
from tests.stack_process import free_port, start_up

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent


def coursepipe(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def aws_cli(endpoint: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    return subprocess.run(
        [str(BIN / "aws"), "--endpoint-url", endpoint, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def course_cookies(stack: dict[str, Any], course: str) -> str:
    """What `coursepipe cookies` mints: signed with the key pair the stack's edge trusts."""
    from pipeline.access.cookies import cookie_header
    from pipeline.access.policy import course_policy
    from pipeline.access.signing import load_private_key, sign_policy

    key = load_private_key((Path(stack["keysDir"]) / "private_key.pem").read_bytes())
    host = stack["httpFront"].split("//", 1)[1]
    policy = course_policy(host, course, expires=int(time.time()) + 600, scheme="http")
    return cookie_header(sign_policy(policy, key, stack["keyId"]))


def get(url: str, cookie: str | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            body = resp.read()
            is_json = resp.headers.get("Content-Type", "").startswith("application/json")
            return resp.status, json.loads(body) if is_json else body
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    proc, info = start_up(tmp_path_factory.mktemp("keys") / "k")
    info["process"] = proc
    yield info
    if proc.poll() is None:
        proc.kill()


def wait_until(check: Any, timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.5)


def test_upload_then_aws_cli_then_delete_then_ctrl_c(stack: dict[str, Any], tmp_path: Path) -> None:
    endpoint, api, site = stack["awsEndpoint"], stack["httpFront"], stack["httpFront"]
    course_dir = materialize_sample_course(tmp_path / "course", video_seconds=4)

    # ---- coursepipe upload follows every execution to its end
    done = coursepipe(
        "upload", str(course_dir), "--course", SAMPLE_COURSE_ID, "--endpoint", endpoint, "--json"
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert {e["key"].split("/", 2)[2]: e["status"] for e in report["executions"]} == {
        "course.yaml": "SUCCEEDED",
        "images/diagram.png": "SUCCEEDED",
        "handouts/hls-cheat-sheet.pdf": "SUCCEEDED",
        "handouts/ladder.csv": "SUCCEEDED",
        "lessons/01-welcome.md": "SUCCEEDED",
        "lessons/02-encoding.md": "SUCCEEDED",
        "lessons/03-publishing.md": "SUCCEEDED",
        "media/welcome.en.vtt": "SUCCEEDED",
        "media/welcome.fr.srt": "SUCCEEDED",
        "media/welcome.mp4": "SUCCEEDED",
    }
    status, course = get(f"{api}/catalog/courses/{SAMPLE_COURSE_ID}")
    assert status == 200
    lessons = [lesson for s in course["sections"] for lesson in s["lessons"]]
    assert [lesson["lessonId"] for lesson in lessons] == ["welcome", "encoding", "publishing"]
    assert all(lesson["status"] == "PUBLISHED" and lesson["page"] for lesson in lessons)
    assert lessons[0]["video"]["master"].endswith("/hls/master.m3u8")
    by_path = {a["path"]: a for a in course["assets"]}
    assert by_path["media/welcome.mp4"]["thumbnails"]["posters"]
    for asset in course["assets"]:
        assert asset["outputs"] and asset["entry"] == asset["outputs"][0]
    # Every published path the API names is served by the edge as the CDN will: with the course's signed
    # cookies only.
    cookie = course_cookies(stack, SAMPLE_COURSE_ID)
    for path in [lessons[0]["page"], lessons[0]["video"]["master"], by_path["images/diagram.png"]["entry"]]:
        assert get(f"{site}{path}", cookie)[0] == 200, path
        assert get(f"{site}{path}")[0] == 403, path
    assert get(f"{site}{lessons[0]['page']}", course_cookies(stack, "other-course"))[0] == 403
    status, listing = get(f"{api}/catalog/courses")
    assert status == 200 and SAMPLE_COURSE_ID in [c["courseId"] for c in listing["courses"]]

    # ---- the aws CLI goes through the same S3 event path
    cli_dir = tmp_path / "cli"
    (cli_dir / "lessons").mkdir(parents=True)
    (cli_dir / "course.yaml").write_text(
        "id: cli-course\ntitle: From the CLI\nsections:\n  - title: S\n    lessons:\n"
        "      - {id: a, file: lessons/a.md}\n      - {id: b, file: lessons/b.md}\n",
        encoding="utf-8",
    )
    (cli_dir / "lessons" / "a.md").write_text("# Lesson A\n\nSee [B](b.md).\n", encoding="utf-8")
    (cli_dir / "lessons" / "b.md").write_text("# Lesson B\n\nBack to [A](a.md).\n", encoding="utf-8")
    bucket = stack["ingestBucket"]
    copied = aws_cli(endpoint, "s3", "cp", "--recursive", str(cli_dir), f"s3://{bucket}/courses/cli-course/")
    assert copied.returncode == 0, copied.stderr

    def cli_course_published() -> Any:
        status, doc = get(f"{api}/catalog/courses/cli-course")
        lessons = [lesson for s in doc["sections"] for lesson in s["lessons"]] if status == 200 else []
        return doc if lessons and all(x["status"] == "PUBLISHED" for x in lessons) else None

    doc = wait_until(cli_course_published)
    assert [x["lessonId"] for s in doc["sections"] for x in s["lessons"]] == ["a", "b"]
    listed = coursepipe("executions", "--course", "cli-course", "--endpoint", endpoint, "--json")
    assert listed.returncode == 0, listed.stderr
    assert sorted(e["key"] for e in json.loads(listed.stdout)["executions"]) == [
        "courses/cli-course/course.yaml",
        "courses/cli-course/lessons/a.md",
        "courses/cli-course/lessons/b.md",
    ]

    # ---- deleting a lesson source removes it from the API and the site
    page_b = next(x["page"] for s in doc["sections"] for x in s["lessons"] if x["lessonId"] == "b")
    page_a = next(x["page"] for s in doc["sections"] for x in s["lessons"] if x["lessonId"] == "a")
    cli_cookie = course_cookies(stack, "cli-course")
    assert get(f"{site}{page_b}", cli_cookie)[0] == 200
    removed = aws_cli(endpoint, "s3", "rm", f"s3://{bucket}/courses/cli-course/lessons/b.md")
    assert removed.returncode == 0, removed.stderr

    def b_missing() -> Any:
        _, doc = get(f"{api}/catalog/courses/cli-course")
        b = next(x for s in doc["sections"] for x in s["lessons"] if x["lessonId"] == "b")
        return b["status"] == "MISSING"

    wait_until(b_missing)

    # The catalog says DELETED first; the same UnpublishAsset task then removes the page and re-renders
    # the index, so the site follows within moments: wait for the deletion's execution to end.
    def deletion_done() -> bool:
        listed = coursepipe("executions", "--course", "cli-course", "--endpoint", endpoint, "--json")
        found = json.loads(listed.stdout)["executions"]
        return any(e["action"] == "delete" and e["status"] == "SUCCEEDED" for e in found)

    wait_until(deletion_done)
    assert get(f"{site}{page_b}", cli_cookie)[0] == 404
    index = get(f"{site}/courses/cli-course/index.html", cli_cookie)[1].decode("utf-8")
    assert page_b.rsplit("/", 1)[1] not in index and page_a.rsplit("/", 1)[1] in index
    printed = coursepipe("catalog", "cli-course", "--endpoint", endpoint, "--json")
    assert printed.returncode == 0, printed.stderr
    assert [x["status"] for x in json.loads(printed.stdout)["sections"][0]["lessons"]] == [
        "PUBLISHED",
        "MISSING",
    ]
    # The operators' listing needs an admin's Cognito token (the stack's dev user is an admin): the old
    # anonymous route is gone, the new one refuses a request without a token.
    assert get(f"{api}/catalog/assets?status=DELETED")[0] == 404
    assert get(f"{api}/catalog/admin/assets?status=DELETED")[0] == 401
    import boto3

    cognito = boto3.client(
        "cognito-idp",
        endpoint_url=endpoint,
        region_name=stack["region"],
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    challenge = cognito.initiate_auth(
        ClientId=stack["userPoolClientId"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": stack["devUser"], "PASSWORD": stack["devPassword"]},
    )
    # Admin rights need MFA: the dev admin has an authenticator, whose secret the stack prints.
    assert challenge["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    signed_in = cognito.respond_to_auth_challenge(
        ClientId=stack["userPoolClientId"],
        ChallengeName="SOFTWARE_TOKEN_MFA",
        Session=challenge["Session"],
        ChallengeResponses={
            "USERNAME": stack["devUser"],
            "SOFTWARE_TOKEN_MFA_CODE": totp_code(stack["devTotpSecret"]),
        },
    )
    cognito.close()  # no idle keep-alive connection left to the stack it stops below
    operator = urllib.request.Request(
        f"{api}/catalog/admin/assets?status=DELETED",
        headers={"Authorization": f"Bearer {signed_in['AuthenticationResult']['IdToken']}"},
    )
    with urllib.request.urlopen(operator, timeout=30) as resp:
        status, errors = resp.status, json.loads(resp.read())
    assert status == 200 and [a["path"] for a in errors["assets"]] == ["lessons/b.md"]

    # ---- the dev sign-in page (the stack's admin user) sets working cookies
    form = urllib.parse.urlencode(
        {"email": stack["devUser"], "password": stack["devPassword"], "course": "cli-course"}
    ).encode()
    # (Python's cookie jar will not send Secure cookies over http; browsers do on 127.0.0.1.)
    host, port = stack["httpFront"].split("//", 1)[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request("POST", "/auth/dev/sign-in", form, {"Content-Type": "application/x-www-form-urlencoded"})
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 303 and resp.getheader("Location") == "/courses/cli-course/index.html"
    jar = [
        v.split(";", 1)[0] for k, v in resp.getheaders() if k.lower() == "set-cookie" and "Max-Age=0" not in v
    ]
    conn.close()
    status, index = get(f"{site}/courses/cli-course/index.html", "; ".join(jar))
    assert status == 200 and b"From the CLI" in index

    # ---- Ctrl-C ends it cleanly
    proc: subprocess.Popen[str] = stack["process"]
    proc.send_signal(signal.SIGINT)
    try:
        code = proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        tail = "".join(stack["stderr"][-40:])
        raise AssertionError(f"no exit 60 s after Ctrl-C; its log ends:\n{tail}") from None
    assert code == 0, "".join(stack["stderr"][-40:])
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", int(endpoint.rsplit(":", 1)[1])), timeout=2)


def test_a_busy_port_is_a_clear_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = coursepipe("up", "--aws-port", str(port), "--http-port", str(free_port()), timeout=60)
    assert result.returncode == 2
    assert f"port {port}" in result.stderr and "--aws-port" in result.stderr


def test_upload_without_a_running_stack_says_so(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# A\n", encoding="utf-8")
    result = coursepipe(
        "upload", str(tmp_path / "a.md"), "--course", "x", "--endpoint", f"http://127.0.0.1:{free_port()}"
    )
    assert result.returncode == 2 and "coursepipe up" in result.stderr
