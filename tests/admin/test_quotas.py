"""Usage accounting, quotas and deactivation against a real server process."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import websockets
from support.server import Client, ServerProcess, http_json, register

from service.standin import Reply, ScriptedResponder, Text, ThreadedStandIn, ToolUse, text_reply

pytestmark = pytest.mark.timeout(90)


def start(standin: ThreadedStandIn, tmp_path: Path, **env: str) -> ServerProcess:
    return ServerProcess(tmp_path / "data", standin.url or "", **env).start()


def spent(usage: dict[str, int]) -> tuple[int, int]:
    prompt = usage["inputTokens"] + usage["cacheReadTokens"] + usage["cacheWriteTokens"]
    return prompt, usage["outputTokens"]


def test_usage_is_counted_per_user_from_the_models_reports(
    standin: ThreadedStandIn, tmp_path: Path
) -> None:
    standin.set_responder(
        ScriptedResponder(
            [
                Reply([ToolUse("bash", {"command": "echo hi"})], output_tokens=40),
                text_reply("Done: it said hi.", output_tokens=7),
                text_reply("Second answer.", output_tokens=11),
            ]
        )
    )
    with start(standin, tmp_path) as server:
        admin = register(server.base, "admin")
        user = register(server.base, "counted")

        async def chat() -> list[dict[str, Any]]:
            client = await Client.connect(server.ws_url, user["token"])
            session = (await client.call("session.create"))["session"]["id"]
            await client.run_to_end(session, "run echo hi")
            await client.run_to_end(session, "again")
            runs = (await client.call("session.get", sessionId=session))["runs"]
            await client.close()
            return runs

        runs = asyncio.run(chat())
        prompt = sum(spent(run["usage"])[0] for run in runs)
        output = sum(spent(run["usage"])[1] for run in runs)
        assert output == 40 + 7 + 11 and prompt > 0
        status, mine = http_json(server.base, "GET", "/api/usage", token=user["token"])
        assert status == 200
        assert mine["today"]["inputTokens"] == prompt
        assert mine["today"]["outputTokens"] == output
        assert mine["today"]["totalTokens"] == prompt + output
        assert mine["days"] == [mine["today"]]
        status, listed = http_json(server.base, "GET", "/api/admin/users", token=admin["token"])
        by_name = {u["username"]: u for u in listed["users"]}
        assert by_name["counted"]["usageToday"] == {
            "inputTokens": prompt,
            "outputTokens": output,
            "totalTokens": prompt + output,
        }
        assert by_name["admin"]["usageToday"]["totalTokens"] == 0
        status, report = http_json(server.base, "GET", "/api/admin/usage", token=admin["token"])
        assert [(d["username"], d["totalTokens"]) for d in report["days"]] == [
            ("counted", prompt + output)
        ]
        assert report["total"]["totalTokens"] == prompt + output


def test_the_daily_limit_refuses_new_runs_and_an_admin_can_lift_it(
    standin: ThreadedStandIn, tmp_path: Path
) -> None:
    standin.set_responder(ScriptedResponder([text_reply("A reply.")], repeat_last=True))
    with start(standin, tmp_path, USER_DAILY_TOKEN_LIMIT="50") as server:
        admin = register(server.base, "admin")
        user = register(server.base, "thrifty")

        async def chat() -> None:
            client = await Client.connect(server.ws_url, user["token"])
            session = (await client.call("session.create"))["session"]["id"]
            first = await client.run_to_end(session, "one")
            assert first[-1]["event"]["type"] == "RUN_FINISHED", "under the limit: it runs"
            refused = await client.request("message.send", sessionId=session, content="two")
            assert refused["ok"] is False
            assert refused["error"]["code"] == "quota_exceeded"
            message = refused["error"]["message"]
            assert "of 50 tokens used today" in message and "resets at 00:00 UTC, in" in message
            status, mine = http_json(server.base, "GET", "/api/usage", token=user["token"])
            assert mine["dailyTokenLimit"] == 50 and mine["remainingTokens"] == 0
            path = f"/api/admin/users/{user['user']['userId']}/quota"
            status, _ = http_json(
                server.base, "POST", path, {"dailyTokenLimit": 0}, token=admin["token"]
            )
            assert status == 200
            again = await client.run_to_end(session, "three")
            assert again[-1]["event"]["type"] == "RUN_FINISHED", "no limit for this user now"
            await client.close()

        asyncio.run(chat())
        assert "quota refused user=" in server.output()


def test_concurrent_runs_are_capped_per_user(standin: ThreadedStandIn, tmp_path: Path) -> None:
    words = [f"w{i} " for i in range(200)]
    standin.set_responder(
        ScriptedResponder(
            [Reply([Text("".join(words), chunks=words)], token_delay=0.02), text_reply("Quick.")],
            repeat_last=True,
        )
    )
    with start(standin, tmp_path, USER_MAX_CONCURRENT_RUNS="1") as server:
        user, other = register(server.base, "busy"), register(server.base, "other")

        async def chat() -> None:
            client = await Client.connect(server.ws_url, user["token"])
            first = (await client.call("session.create"))["session"]["id"]
            second = (await client.call("session.create"))["session"]["id"]
            await client.call("message.send", sessionId=first, content="long")
            refused = await client.request("message.send", sessionId=second, content="short")
            assert refused["error"]["code"] == "quota_exceeded"
            assert "when one of them has finished" in refused["error"]["message"]
            # Another user is not held back by this one's run.
            neighbour = await Client.connect(server.ws_url, other["token"])
            theirs = (await neighbour.call("session.create"))["session"]["id"]
            assert (await neighbour.run_to_end(theirs, "hi"))[-1]["event"]["type"] == (
                "RUN_FINISHED"
            )
            await client.call("run.cancel", sessionId=first)
            await client.wait_for_event(first, "RUN_FINISHED")
            done = await client.run_to_end(second, "short")
            assert done[-1]["event"]["type"] == "RUN_FINISHED"
            await client.close()
            await neighbour.close()

        asyncio.run(chat())


def test_deactivation_ends_the_users_sockets_and_runs_at_once(
    standin: ThreadedStandIn, tmp_path: Path
) -> None:
    standin.set_responder(ScriptedResponder([Reply([ToolUse("bash", {"command": "sleep 30"})])]))
    with start(standin, tmp_path) as server:
        admin = register(server.base, "admin")
        user = register(server.base, "leaver")

        async def scenario() -> None:
            client = await Client.connect(server.ws_url, user["token"])
            session = (await client.call("session.create"))["session"]["id"]
            await client.call("message.send", sessionId=session, content="sleep")
            await client.wait_for_event(session, "TOOL_CALL_END")
            loop = asyncio.get_running_loop()
            asked = loop.time()
            path = f"/api/admin/users/{user['user']['userId']}/deactivate"
            status, _ = await asyncio.to_thread(
                http_json, server.base, "POST", path, None, admin["token"]
            )
            assert status == 200
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await client.next_frame(5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
            assert closed.value.rcvd.reason == "account deactivated"
            assert loop.time() - asked < 2.0
            with pytest.raises(websockets.InvalidStatus) as refused:
                await Client.connect(server.ws_url, user["token"])
            assert refused.value.response.status_code == 401

        asyncio.run(scenario())
        database = tmp_path / "data" / "data" / "agentx.db"
        for _ in range(50):
            with sqlite3.connect(database) as connection:
                statuses = [row[0] for row in connection.execute("SELECT status FROM runs")]
            if statuses == ["cancelled"]:
                break
            asyncio.run(asyncio.sleep(0.1))
        assert statuses == ["cancelled"], "the run was stopped, not left to finish"
        assert "admin action=deactivate" in server.output()
