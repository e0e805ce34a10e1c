from sanic import Sanic


def test_health_answers_ok_with_a_millisecond_timestamp(app: Sanic) -> None:
    _, response = app.test_client.get("/health")
    assert response.status == 200
    assert response.json["status"] == "ok"
    assert response.json["timestamp"] > 1_700_000_000_000
