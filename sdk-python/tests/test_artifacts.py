"""`Artifacts`: what `init` reads from the manifest's `[artifacts]`, and the errors that
name the artifact (the same messages as the Rust and JavaScript SDKs')."""

import pytest

from alpha_panda import Artifacts, InitContext, ParamError, Params, Runner, Strategy


def with_model(data: bytes) -> Artifacts:
    a = Artifacts()
    a.insert("model", "ab12", data)
    return a


def test_reads_bytes_text_and_json():
    a = with_model(b'{"bias": -0.5, "weights": [1.0, 2.0]}')
    assert a.get("model").sha256 == "ab12"
    assert a.text("model").startswith("{")
    assert a.json("model")["bias"] == -0.5
    assert list(a.names()) == ["model"]


def test_errors_name_the_artifact():
    a = with_model(b"\xff\xfe")
    with pytest.raises(ParamError) as e:
        a.bytes("calendar")
    assert e.value.message == "artifact `calendar` is not in the manifest's [artifacts] (it names: [model])"
    with pytest.raises(ParamError) as e:
        a.text("model")
    assert e.value.message.startswith("artifact `model` is not UTF-8 text")
    with pytest.raises(ParamError) as e:
        with_model(b"{").json("model")
    assert e.value.message.startswith("artifact `model` is not valid JSON")


class Scaled(Strategy):
    def init(self, params, ctx):
        self.factor = ctx.artifacts.json("model")["factor"]

    def on_tick(self, tick, ctx):
        pass


def test_init_reads_its_artifact_and_a_missing_one_refuses_init():
    ctx = InitContext(strategy_id="s", artifacts=with_model(b'{"factor": 3}'))
    r = Runner(Scaled, Params.from_pairs([]), ctx)
    assert r.strategy.factor == 3
    with pytest.raises(ParamError) as e:
        Runner(Scaled, Params.from_pairs([]), InitContext(strategy_id="s"))
    assert "artifact `model` is not in the manifest's [artifacts]" in e.value.message
